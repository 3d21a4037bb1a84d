//! Simulated instances, for users' tests: each an [`InMemoryRuntime`] of the same size,
//! launched after a set delay, with faults to inject (launches failing, instances
//! lost), and a record of every instance terminated while it still ran a container.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::provider::{InstanceProvider, LaunchedInstance};
use crate::Error;
use crate::cluster::Resources;
use crate::ids::InstanceId;
use crate::runtime::{ContainerState, InMemoryRuntime};

/// Launches [`InMemoryRuntime`]s. Clones share the same instances.
///
/// ```
/// use ecs_core::capacity::{InMemoryInstanceProvider, InstanceProvider};
/// use ecs_core::cluster::Resources;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ecs_core::Error> {
/// let provider = InMemoryInstanceProvider::new("asg", Resources::new(1024, 2048));
/// let launched = provider.launch(2).await?;
/// assert_eq!(launched[0].id.as_str(), "i-asg-1");
/// assert_eq!(provider.instances().await?.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InMemoryInstanceProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    prefix: String,
    size: Resources,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    live: BTreeMap<InstanceId, InMemoryRuntime>,
    launch_delay: Duration,
    failing_launches: u32,
    launched: u64,
    terminated: Vec<InstanceId>,
    terminated_running: Vec<InstanceId>,
    launches: Vec<LaunchRecord>,
}

/// One call to [`launch`](InstanceProvider::launch), on tokio's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchRecord {
    /// How many instances were asked for.
    pub count: u32,
    /// When it was called.
    pub asked_at: tokio::time::Instant,
    /// When it answered.
    pub done_at: tokio::time::Instant,
    /// Whether it launched them.
    pub ok: bool,
}

impl InMemoryInstanceProvider {
    /// Instances `i-PREFIX-1`, `i-PREFIX-2` ..., each offering `size`.
    pub fn new(prefix: &str, size: Resources) -> Self {
        Self {
            inner: Arc::new(Inner {
                prefix: prefix.to_owned(),
                size,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Each launch takes `delay` (on tokio's clock) before its instances are up.
    pub fn set_launch_delay(&self, delay: Duration) {
        self.state().launch_delay = delay;
    }

    /// The next `n` launches fail.
    pub fn fail_next_launches(&self, n: u32) {
        self.state().failing_launches += n;
    }

    /// The instance is lost (its engine unreachable); the provider forgets it, as a
    /// cloud forgets a machine that died.
    pub fn lose(&self, instance: &InstanceId) -> bool {
        match self.state().live.remove(instance) {
            Some(runtime) => {
                runtime.lose();
                true
            }
            None => false,
        }
    }

    /// The engine of a live instance.
    pub fn runtime(&self, instance: &InstanceId) -> Option<InMemoryRuntime> {
        self.state().live.get(instance).cloned()
    }

    /// The live instances' ids.
    pub fn live(&self) -> Vec<InstanceId> {
        self.state().live.keys().cloned().collect()
    }

    /// How many instances were ever launched.
    pub fn launched(&self) -> u64 {
        self.state().launched
    }

    /// Every launch, in order.
    pub fn launches(&self) -> Vec<LaunchRecord> {
        self.state().launches.clone()
    }

    /// The instances terminated, in order.
    pub fn terminated(&self) -> Vec<InstanceId> {
        self.state().terminated.clone()
    }

    /// The instances terminated while a container still ran on them: never any, with
    /// managed termination protection.
    pub fn terminated_running(&self) -> Vec<InstanceId> {
        self.state().terminated_running.clone()
    }
}

#[async_trait]
impl InstanceProvider for InMemoryInstanceProvider {
    fn instance_resources(&self) -> Resources {
        self.inner.size
    }

    async fn launch(&self, count: u32) -> Result<Vec<LaunchedInstance>, Error> {
        let asked_at = tokio::time::Instant::now();
        let delay = self.state().launch_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.state();
        let failing = s.failing_launches > 0;
        s.launches.push(LaunchRecord {
            count,
            asked_at,
            done_at: tokio::time::Instant::now(),
            ok: !failing,
        });
        if failing {
            s.failing_launches -= 1;
            return Err(Error::InstanceProvider {
                group: self.inner.prefix.clone(),
                reason: "launch failed (injected)".to_owned(),
            });
        }
        let mut out = Vec::new();
        for _ in 0..count {
            s.next += 1;
            s.launched += 1;
            let id = InstanceId::new(format!("i-{}-{}", self.inner.prefix, s.next))?;
            let runtime = InMemoryRuntime::new(self.inner.size);
            s.live.insert(id.clone(), runtime.clone());
            out.push(LaunchedInstance {
                id,
                runtime: Arc::new(runtime),
                attributes: BTreeMap::new(),
            });
        }
        Ok(out)
    }

    async fn terminate(&self, instance: &InstanceId) -> Result<(), Error> {
        let mut s = self.state();
        if let Some(runtime) = s.live.remove(instance) {
            if runtime
                .containers()
                .iter()
                .any(|c| c.state == ContainerState::Running)
            {
                s.terminated_running.push(instance.clone());
            }
            runtime.lose();
            s.terminated.push(instance.clone());
        }
        Ok(())
    }

    async fn instances(&self) -> Result<Vec<LaunchedInstance>, Error> {
        Ok(self
            .state()
            .live
            .iter()
            .map(|(id, r)| LaunchedInstance {
                id: id.clone(),
                runtime: Arc::new(r.clone()),
                attributes: BTreeMap::new(),
            })
            .collect())
    }
}
