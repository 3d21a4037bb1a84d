//! The live agents, one per registered container instance.
//!
//! The state knows each instance's agent only by its epoch (so that it stays below the
//! agents); the fleet holds the agents themselves. Both change together, the state's
//! lock taken first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::agent::Agent;
use crate::ids::{ClusterName, InstanceId};

/// The agents of every registered instance.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    agents: Mutex<HashMap<(ClusterName, InstanceId), Arc<Agent>>>,
}

impl Fleet {
    fn lock(&self) -> MutexGuard<'_, HashMap<(ClusterName, InstanceId), Arc<Agent>>> {
        self.agents.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agent of `instance`, if it has a live one.
    pub(crate) fn get(&self, cluster: &ClusterName, instance: &InstanceId) -> Option<Arc<Agent>> {
        self.lock()
            .get(&(cluster.clone(), instance.clone()))
            .cloned()
    }

    /// Adds (or replaces) an instance's agent.
    pub(crate) fn insert(&self, agent: Arc<Agent>) {
        self.lock()
            .insert((agent.cluster.clone(), agent.instance.clone()), agent);
    }

    /// Forgets an instance's agent (deregistered).
    pub(crate) fn remove(&self, cluster: &ClusterName, instance: &InstanceId) {
        self.lock().remove(&(cluster.clone(), instance.clone()));
    }
}
