//! The loop supervisor: every background task of a control plane (agents' event pumps
//! and resyncs, task runners, service controllers, the persister, auto scaling, the
//! retention of stopped tasks, load balancer drains, recovery's removals) runs under
//! it, and ends when it is cancelled.
//!
//! A cancellation token (tokio-util's) that every task races, and a task tracker that
//! `shutdown` waits on: the shape kube-runtime's controllers and tower's services use.
//! Cancelling is synchronous (it is what `Drop` does): each task is dropped at its next
//! poll, without another step of its work.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tokens the tasks are spread over: each token keeps its waiting tasks in a list
/// behind a lock, which every task takes when it starts and ends; one token for a
/// hundred thousand tasks made that lock the control plane's busiest.
const SHARDS: usize = 32;

/// Runs and ends the control plane's background tasks.
#[derive(Debug)]
pub(crate) struct Supervisor {
    token: CancellationToken,
    /// Children of `token`, cancelled with it.
    shards: Vec<CancellationToken>,
    next: AtomicUsize,
    tracker: TaskTracker,
}

impl Default for Supervisor {
    fn default() -> Self {
        let token = CancellationToken::new();
        Self {
            shards: (0..SHARDS).map(|_| token.child_token()).collect(),
            token,
            next: AtomicUsize::new(0),
            tracker: TaskTracker::new(),
        }
    }
}

impl Supervisor {
    /// Runs `work` until it ends or the supervisor is cancelled. After a cancel, nothing
    /// starts any more (a task spawned in the race sees the cancel before its first
    /// step). Must be called within a Tokio runtime.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        if self.token.is_cancelled() {
            return;
        }
        let shard = self.next.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let token = self.shards[shard].clone();
        // Boxed: the async block would otherwise keep both its captured copy and the
        // select's, twice the work's size for the task's whole life.
        let work = Box::pin(work);
        self.tracker.spawn(async move {
            tokio::select! {
                // Checked first at every poll: a cancelled task takes no further step.
                biased;
                () = token.cancelled() => {}
                () = work => {}
            }
        });
    }

    /// Ends every task at its next poll, and any spawned later at once.
    pub(crate) fn cancel(&self) {
        self.token.cancel();
        self.tracker.close();
    }

    /// Returns once every task has ended (its future dropped), after a
    /// [`cancel`](Self::cancel).
    pub(crate) async fn ended(&self) {
        self.tracker.wait().await;
    }
}
