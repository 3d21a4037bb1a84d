//! The one fake load balancer of the tests: it keeps its targets in memory, and can be
//! made to fail, to hold a call, or to hang.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecs_core::Error;
use ecs_core::load_balancer::{LoadBalancer, Target, TargetHealth, TargetState};
use tokio::sync::Notify;

/// A load balancer that keeps its targets in memory: a target turns healthy at the
/// second health read after its registration; deregistration drains for `delay`.
///
/// Beside that, what the tests can make it do: hold the next `target_health` call at a
/// gate, make every later `target_health` call hang, or refuse registrations.
#[derive(Debug)]
pub struct FakeLb {
    /// What `LoadBalancer::name` answers.
    pub name: String,
    /// How long a deregistration drains.
    pub delay: Duration,
    /// Each target by task id: the target, its state, and how many health reads saw it.
    pub targets: Mutex<HashMap<String, (Target, TargetState, u32)>>,
    /// Targets whose deregistration completed (drained, then removed), by task id.
    pub drained: Mutex<Vec<String>>,
    /// The fewest healthy targets ever seen while some were registered.
    pub min_healthy: Mutex<Option<usize>>,
    /// A gate the next `target_health` call waits at (notifying `entered` first).
    pub gate: Mutex<Option<Arc<Notify>>>,
    /// Notified when a `target_health` call reaches the gate.
    pub entered: Notify,
    /// Makes every later `target_health` call hang.
    pub hang: AtomicBool,
    /// Makes every later `register_targets` call fail.
    pub fail_register: AtomicBool,
}

impl FakeLb {
    pub fn new(name: &str, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            delay,
            targets: Mutex::new(HashMap::new()),
            drained: Mutex::new(Vec::new()),
            min_healthy: Mutex::new(None),
            gate: Mutex::new(None),
            entered: Notify::new(),
            hang: false.into(),
            fail_register: false.into(),
        })
    }

    /// The target's state, if it is a target.
    pub fn state_of(&self, id: &str) -> Option<TargetState> {
        self.targets.lock().unwrap().get(id).map(|t| t.1)
    }

    /// How many targets are healthy now.
    pub fn healthy(&self) -> usize {
        self.targets
            .lock()
            .unwrap()
            .values()
            .filter(|(_, s, _)| *s == TargetState::Healthy)
            .count()
    }

    fn note(&self) {
        let h = self.healthy();
        let mut m = self.min_healthy.lock().unwrap();
        *m = Some(m.map_or(h, |m| m.min(h)));
    }
}

#[async_trait::async_trait]
impl LoadBalancer for FakeLb {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn register_targets(&self, targets: &[Target]) -> Result<(), Error> {
        if self.fail_register.load(Ordering::SeqCst) {
            return Err(Error::LoadBalancer {
                name: self.name.clone(),
                reason: "down".into(),
            });
        }
        let mut map = self.targets.lock().unwrap();
        for t in targets {
            map.entry(t.id.clone())
                .or_insert((t.clone(), TargetState::Initial, 0));
        }
        Ok(())
    }

    async fn deregister_targets(&self, targets: &[Target]) -> Result<(), Error> {
        {
            let mut map = self.targets.lock().unwrap();
            for t in targets {
                if let Some(e) = map.get_mut(&t.id) {
                    e.1 = TargetState::Draining;
                }
            }
        }
        self.note();
        tokio::time::sleep(self.delay).await;
        let mut map = self.targets.lock().unwrap();
        for t in targets {
            map.remove(&t.id);
            self.drained.lock().unwrap().push(t.id.clone());
        }
        Ok(())
    }

    async fn target_health(&self) -> Result<Vec<TargetHealth>, Error> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            self.entered.notify_one();
            gate.notified().await;
        }
        let out = {
            let mut map = self.targets.lock().unwrap();
            for (_, state, reads) in map.values_mut() {
                *reads += 1;
                if *state == TargetState::Initial && *reads >= 2 {
                    *state = TargetState::Healthy;
                }
            }
            map.values()
                .map(|(t, s, _)| TargetHealth::new(t.clone(), *s, None))
                .collect()
        };
        self.note();
        Ok(out)
    }
}
