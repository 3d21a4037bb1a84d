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

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs and ends the control plane's background tasks.
#[derive(Debug, Default)]
pub(crate) struct Supervisor {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Supervisor {
    /// Runs `work` until it ends or the supervisor is cancelled. After a cancel, nothing
    /// starts any more (a task spawned in the race sees the cancel before its first
    /// step). Must be called within a Tokio runtime.
    pub(crate) fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        if self.token.is_cancelled() {
            return;
        }
        let token = self.token.clone();
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

    /// Cancels, and returns once every task has ended (its future dropped).
    pub(crate) async fn stop(&self) {
        self.cancel();
        self.tracker.wait().await;
    }
}
