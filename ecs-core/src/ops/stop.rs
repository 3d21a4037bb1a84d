//! Asking a task to stop.

use std::sync::Arc;

use super::Ops;
use crate::ids::{ClusterName, TaskId};
use crate::state::StopRequest;
use crate::task::{StopCode, Task, TaskStatus};
use crate::{Error, ResourceKind};

impl Ops {
    /// Asks a task to stop, for `code` and `reason`: its desired status is STOPPED at
    /// once, as in ECS, and its runner does the rest. Returns the task as it is then (a
    /// snapshot: the services' controllers stop thousands at once and read none).
    pub(crate) fn request_stop(
        &self,
        cluster: &ClusterName,
        task: &TaskId,
        code: StopCode,
        reason: &str,
    ) -> Result<Arc<Task>, Error> {
        let waited = {
            let mut s = self.state.lock();
            // A task waiting for capacity has no runner: it stops here and now.
            let waited = s
                .capacity
                .waiting
                .get(task)
                .is_some_and(|w| w.cluster == *cluster);
            if waited {
                s.capacity.waiting.remove(task);
            }
            let entry = s
                .tasks
                .get(task)
                .filter(|e| e.task.cluster == *cluster)
                .ok_or_else(|| Error::not_found_in(ResourceKind::Task, task, cluster))?;
            entry.stop.send_if_modified(|current| {
                if current.is_some() {
                    return false;
                }
                *current = Some(StopRequest {
                    code,
                    reason: reason.to_owned(),
                });
                true
            });
            waited
        };
        // Why, kept with the task: a restarted control plane still knows.
        self.state.update_task(task, |t| {
            t.desired_status = TaskStatus::Stopped;
            t.stop_code.get_or_insert(code);
            t.stopped_reason.get_or_insert_with(|| reason.to_owned());
        });
        if waited {
            self.state.task_stopped(task);
        }
        let s = self.state.lock();
        s.tasks
            .get(task)
            .map(|e| e.task.clone())
            .ok_or_else(|| Error::not_found_in(ResourceKind::Task, task, cluster))
    }
}
