//! `--etcd`: the state on etcd, this process one of several control planes of which one
//! leads. It campaigns; while another leads it stands by (its API closed); once it
//! leads it opens the state fenced, recovers as after a restart (the containers the
//! last leader left running are adopted), and serves until it is stopped or loses the
//! leadership, when it halts at once and stands by again. Each change of role is a
//! line on its standard output.

use std::sync::Arc;

use ecs::Ecs;
use ecs::config::EcsConfig;
use ecs::etcd::etcd_client::{Client, ConnectOptions};
use ecs::etcd::{Candidate, EtcdStore};
use tokio_util::sync::CancellationToken;

use crate::Options;

pub(crate) async fn run(
    o: &Options,
    config: EcsConfig,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
) -> Result<(), Box<dyn std::error::Error>> {
    let endpoints = o.etcd.clone().unwrap_or_default();
    let client = Client::connect(
        &endpoints,
        // No HTTP/2 keep-alive pings: etcd closes connections that ping more often than
        // its --grpc-keepalive-min-time (5 s), which cut a campaign's long call.
        Some(ConnectOptions::new().with_connect_timeout(std::time::Duration::from_secs(2))),
    )
    .await
    .map_err(|e| format!("--etcd {}: {e}", endpoints.join(",")))?;
    let node = o.node.clone().unwrap_or_else(|| o.listen.to_string());
    let candidate = Candidate::new(&client, &o.etcd_root, node.clone(), o.lease_ttl);
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            crate::stop_signal().await;
            stop.cancel();
        }
    });
    loop {
        let leader = candidate.leader().await.ok().flatten();
        println!(
            "ecs-server: {node} stands by; leader: {}",
            leader.as_deref().unwrap_or("none")
        );
        let leadership = tokio::select! {
            won = candidate.campaign() => match won {
                Ok(l) => l,
                Err(e) => {
                    // etcd unreachable, a member gone: campaign again.
                    eprintln!("ecs-server: {node}: campaigning failed: {e}; again in a second");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let term = leadership.term();
        println!("ecs-server: {node} leads (term {term})");
        let store = match EtcdStore::open_fenced(&client, &o.etcd_root, leadership.fence()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ecs-server: {node} cannot open the state on etcd: {e}; standing by");
                leadership.resign().await.ok();
                continue;
            }
        };
        let ecs = match Ecs::open(config.clone(), Arc::new(store)).await {
            Ok(ecs) => ecs,
            Err(e) => {
                eprintln!("ecs-server: {node} cannot recover the state: {e}; standing by");
                leadership.resign().await.ok();
                continue;
            }
        };
        let until = {
            let stop = stop.clone();
            let fence = leadership.fence();
            async move {
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = fence.lost() => {}
                }
            }
        };
        let state = format!("etcd {} under {}/", endpoints.join(","), o.etcd_root);
        let served = crate::serve(o, &ecs, metrics.clone(), &state, until).await;
        if stop.is_cancelled() {
            println!("ecs-server: stopping; containers keep running for the next leader to adopt");
            ecs.shutdown().await.ok();
            leadership.resign().await.ok();
            return served;
        }
        // The leadership ended (or serving failed): act on nothing more, at once.
        ecs.halt().await;
        let why = match &served {
            Err(e) => format!("serving failed: {e}"),
            Ok(()) => "its lease ran out, or another leads".to_owned(),
        };
        println!("ecs-server: {node} lost the leadership (term {term}): {why}");
        drop(leadership);
    }
}
