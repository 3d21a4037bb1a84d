//! `--etcd`: the state on etcd, this process one of several control planes of which one
//! leads. It campaigns; while another leads it stands by (its API closed); once it
//! leads it opens the state fenced, recovers as after a restart (the containers the
//! last leader left running are adopted), and serves until it is stopped or loses the
//! leadership, when it halts at once and stands by again. Each change of role is a
//! line on its standard output.

use std::sync::Arc;
use std::time::Duration;

use ecs::Ecs;
use ecs::config::EcsConfig;
use ecs::etcd::etcd_client::{Client, ConnectOptions};
use ecs::etcd::{Candidate, EtcdStore, Leadership};
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
        // HTTP/2 keep-alive pings find a member that stopped answering; no more often
        // than etcd's --grpc-keepalive-min-time (5 s), or it closes the connection
        // (and a campaign's long call with it).
        Some(
            ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(2))
                .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5)),
        ),
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
        let leader = tokio::select! {
            leader = candidate.leader() => leader.ok().flatten(),
            () = stop.cancelled() => return Ok(()),
        };
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
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let term = leadership.term();
        println!("ecs-server: {node} leads (term {term})");
        match lead(
            o,
            &config,
            &metrics,
            &client,
            &endpoints,
            &leadership,
            &stop,
        )
        .await
        {
            Ok(()) if stop.is_cancelled() => {
                leadership.resign().await.ok();
                return Ok(());
            }
            Ok(()) => {
                println!(
                    "ecs-server: {node} lost the leadership (term {term}): its lease ran out, \
                     or another leads"
                );
            }
            Err(e) => {
                println!("ecs-server: {node} lost the leadership (term {term}): {e}");
                // Hands over at once, and does not take it again at once.
                leadership.resign().await.ok();
                tokio::select! {
                    () = tokio::time::sleep(RETRY_AFTER_FAILURE) => {}
                    () = stop.cancelled() => return Ok(()),
                }
                continue;
            }
        }
        drop(leadership);
    }
}

/// How long a node that failed to lead (its state unreadable, its port taken) waits
/// before campaigning again, leaving the others the time to win.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// How long a stopping leader waits for its changes to become durable before it halts.
const SHUTDOWN_WITHIN: Duration = Duration::from_secs(30);

/// One term: opens the state fenced, recovers, serves until stopped or the leadership
/// ends; `Ok` when either did, `Err` when leading failed. Whatever ends it, the control
/// plane acts on nothing more afterwards; when the leadership ends it is halted at
/// once, not after the API's requests in flight (which may wait on the store).
async fn lead(
    o: &Options,
    config: &EcsConfig,
    metrics: &metrics_exporter_prometheus::PrometheusHandle,
    client: &Client,
    endpoints: &[String],
    leadership: &Leadership,
    stop: &CancellationToken,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = EtcdStore::open_fenced(client, &o.etcd_root, leadership.fence())
        .await
        .map_err(|e| format!("cannot open the state on etcd: {e}"))?;
    let ecs = Ecs::open(config.clone(), Arc::new(store))
        .await
        .map_err(|e| format!("cannot recover the state: {e}"))?;
    let fence = leadership.fence();
    let watcher = tokio::spawn({
        let (ecs, fence) = (ecs.clone(), fence.clone());
        async move {
            fence.lost().await;
            ecs.halt().await;
        }
    });
    let until = {
        let (stop, fence) = (stop.clone(), fence.clone());
        async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = fence.lost() => {}
            }
        }
    };
    let state = format!("etcd {} under {}/", endpoints.join(","), o.etcd_root);
    let served = crate::serve(o, &ecs, metrics.clone(), &state, until).await;
    // Stopped while still leading: its changes made durable first.
    if stop.is_cancelled() && fence.check().is_ok() {
        println!("ecs-server: stopping; containers keep running for the next leader to adopt");
        if tokio::time::timeout(SHUTDOWN_WITHIN, ecs.clone().shutdown())
            .await
            .is_err()
        {
            eprintln!("ecs-server: changes not durable within {SHUTDOWN_WITHIN:?}; halting");
        }
    }
    ecs.halt().await;
    watcher.abort();
    served
}
