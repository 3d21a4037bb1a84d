//! The engine-agnostic core of an embeddable Amazon ECS:
//!
//! - [`task_definition`]: the typed model of the ECS API's task definitions, loading from
//!   real AWS JSON, validation; [`TaskDefinitionRegistry`]: families and revisions;
//! - [`cluster`] and [`placement`]: container instances, the cluster query language, and
//!   schedulers that place tasks by ECS's filters, constraints and strategies;
//! - [`runtime`]: the container runtime trait a backend implements, the in-memory runtime
//!   and (feature `mock`) a mockall mock; `conformance` (feature `conformance`): the
//!   checks every runtime must pass;
//! - [`control`] and [`task`]: the control plane ([`Ecs`]) and the task lifecycle its
//!   agents drive;
//! - [`load_balancer`]: the trait a load balancer implements, and a built-in TCP one
//!   with ELB's health checks and draining;
//! - [`store`]: the versioned, transactional store the control plane's state lives in,
//!   in memory or in one crash-safe file.
//!
//! It never names an engine: the Docker and Podman backends are crates of their own.
//!
//! Task definitions read the JSON that `aws ecs register-task-definition
//! --cli-input-json` takes, unchanged. Invalid ones are rejected with every problem and
//! its JSON path; accepted ones come with warnings for what deserves a look (AWS-only
//! features, unknown keys, values written in another form).
//!
//! ```
//! use ecs_core::task_definition::TaskDefinition;
//! use ecs_core::TaskDefinitionRegistry;
//!
//! let json = r#"{
//!     "family": "web",
//!     "cpu": "0.5 vCPU",
//!     "memory": "1 GB",
//!     "containerDefinitions": [{
//!         "name": "nginx",
//!         "image": "nginx:1.27",
//!         "memoryReservation": 256,
//!         "portMappings": [{ "containerPort": 80, "hostPort": 8080 }]
//!     }]
//! }"#;
//! let loaded = TaskDefinition::from_json(json)?;
//! assert_eq!(loaded.definition.cpu_units(), Some(512));
//! assert_eq!(loaded.definition.memory_mib(), Some(1024));
//! assert!(loaded.warnings.is_empty());
//!
//! let mut registry = TaskDefinitionRegistry::new();
//! let registered = registry.register(loaded.definition)?;
//! assert_eq!(registered.reference.to_string(), "web:1");
//!
//! // Every problem, with where it is.
//! let err = TaskDefinition::from_json(
//!     r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": "x",
//!         "memory": 64, "links": ["db"]}]}"#,
//! )
//! .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "invalid task definition: 1 problem\n  containerDefinitions[0].links[0]: \
//!      refers to container \"db\", which is not in containerDefinitions"
//! );
//! # Ok::<(), ecs_core::Error>(())
//! ```

pub(crate) mod agent;
pub mod autoscaling;
pub mod capacity;
pub mod cluster;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod control;
pub(crate) mod controllers;
mod error;
pub mod ids;
pub mod json_path;
pub mod load_balancer;
pub(crate) mod ops;
pub mod placement;
mod registry;
pub mod runtime;
pub mod secrets;
pub mod service;
pub(crate) mod state;
pub mod store;
pub mod tags;
pub mod task;
pub mod task_definition;
pub mod telemetry;

pub use control::Ecs;
pub use error::{ClusterContents, Error, ResourceKind};
pub use ids::{
    Arn, ArnScope, CapacityProviderName, ClusterName, ContainerName, Family, InstanceId, Revision,
    ServiceName, TaskDefinitionRef, TaskGroup, TaskId,
};
pub use json_path::JsonPath;
pub use registry::{MAX_TASK_DEFINITION_BYTES, Registered, TaskDefinitionRegistry};
pub use task_definition::TaskDefinition;
