//! Forwarding: accepts client connections and splices each to a target, trying the
//! next healthy target when one cannot be reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::pool::Signal;
use super::stats::Counters;
use super::tcp::Inner;

/// How long to pause after a failed accept (out of file descriptors ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts connections until the balancer stops; serves each in a task of its own.
pub(crate) async fn accept(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = inner.stopped() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                Counters::bump(&inner.counters.accepted);
                let task = inner.clone();
                inner.spawn(async move {
                    tokio::select! {
                        _ = task.stopped() => {}
                        _ = serve(&task, client, peer) => {}
                    }
                });
            }
            Err(error) => {
                tracing::warn!(load_balancer = %inner.name, %error, "accepting a connection failed");
                tokio::select! {
                    _ = inner.stopped() => return,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
}

/// Connects `client` to a healthy target (the next one when connecting fails) and
/// forwards both ways until either side is done or the target's connections are cut.
async fn serve(inner: &Inner, mut client: TcpStream, peer: SocketAddr) {
    let mut tried = Vec::new();
    let (claim, mut backend) = loop {
        let Some(claim) = inner.pick(&tried) else {
            Counters::bump(&inner.counters.failed);
            tracing::debug!(load_balancer = %inner.name, %peer, tried = tried.len(),
                "no healthy target could take the connection; closing it");
            return;
        };
        tried.push(claim.serial());
        let address = claim.target().address;
        match tokio::time::timeout(inner.config.connect_timeout, TcpStream::connect(address)).await
        {
            Ok(Ok(backend)) => break (claim, backend),
            Ok(Err(error)) => {
                claim.connect_failed();
                tracing::debug!(load_balancer = %inner.name, target = %claim.target(), %error,
                    "connecting failed; trying the next target");
            }
            Err(_) => {
                claim.connect_failed();
                tracing::debug!(load_balancer = %inner.name, target = %claim.target(),
                    "connecting timed out; trying the next target");
            }
        }
    };
    claim.connected();
    Counters::bump(&inner.counters.forwarded);
    // Latency over batching, as a proxy should; failing to set it changes nothing else.
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    let mut signal = claim.signal();
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut client, &mut backend) => {
            if let Err(error) = result {
                tracing::debug!(load_balancer = %inner.name, target = %claim.target(), %peer,
                    %error, "connection ended with an error");
            }
        }
        _ = signal.wait_for(|s| *s == Signal::Cut) => {
            tracing::debug!(load_balancer = %inner.name, target = %claim.target(), %peer,
                "deregistration delay passed; connection cut");
        }
    }
}
