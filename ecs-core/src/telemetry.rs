//! The metrics the control plane records, through the [`metrics`] facade: whatever
//! recorder the embedding program installs (Prometheus, StatsD, its own) receives them;
//! without one they cost next to nothing.
//!
//! Events are recorded as they happen: placements (attempted, failed by reason, their
//! latency), engine calls (by operation and runtime, with latency and errors), store
//! commits (latency and failures). What the state *is* (tasks by status, services'
//! counts, deployments by rollout state) is recorded from one snapshot by
//! [`Ecs::record_state_metrics`](crate::Ecs::record_state_metrics), which an exporter
//! calls when it is scraped.

/// Placement requests' tasks: `cluster`, `result` (`placed`, `failed`).
pub const PLACEMENTS: &str = "ecs_placements_total";
/// Tasks that could not be placed: `cluster`, `reason` (ECS's: `RESOURCE:MEMORY` ...).
pub const PLACEMENT_FAILURES: &str = "ecs_placement_failures_total";
/// How long a placement decision took, in seconds (one request, all its tasks).
pub const PLACEMENT_SECONDS: &str = "ecs_placement_seconds";
/// Calls to container engines: `operation`, `runtime`.
pub const ENGINE_CALLS: &str = "ecs_engine_calls_total";
/// Engine calls that failed: `operation`, `runtime`, `error` (its kind).
pub const ENGINE_CALL_ERRORS: &str = "ecs_engine_call_errors_total";
/// How long an engine call took, in seconds: `operation`, `runtime`.
pub const ENGINE_CALL_SECONDS: &str = "ecs_engine_call_seconds";
/// Store commits: `result` (`ok`, `error`).
pub const STORE_COMMITS: &str = "ecs_store_commits_total";
/// How long a store commit took, in seconds.
pub const STORE_COMMIT_SECONDS: &str = "ecs_store_commit_seconds";
/// Tasks by `cluster` and `last_status` (a snapshot).
pub const TASKS: &str = "ecs_tasks";
/// A service's desired count: `cluster`, `service` (a snapshot).
pub const SERVICE_DESIRED: &str = "ecs_service_desired_tasks";
/// A service's RUNNING tasks: `cluster`, `service` (a snapshot).
pub const SERVICE_RUNNING: &str = "ecs_service_running_tasks";
/// A service's tasks on their way to RUNNING: `cluster`, `service` (a snapshot).
pub const SERVICE_PENDING: &str = "ecs_service_pending_tasks";
/// Deployments by `cluster` and `rollout_state` (a snapshot; INACTIVE ones left out).
pub const DEPLOYMENTS: &str = "ecs_deployments";

/// `CapacityProviderReservation` by `capacity_provider`, in percent (ECS's metric:
/// instances needed over instances had, times 100).
pub const CAPACITY_RESERVATION: &str = "ecs_capacity_provider_reservation";
/// Instances of each `capacity_provider`, registered and launching.
pub const CAPACITY_INSTANCES: &str = "ecs_capacity_provider_instances";
/// Tasks waiting in PROVISIONING for capacity, by `cluster`.
pub const TASKS_WAITING: &str = "ecs_tasks_waiting_for_capacity";

/// The histograms, whose buckets an exporter may want to set.
pub const HISTOGRAMS: &[&str] = &[PLACEMENT_SECONDS, ENGINE_CALL_SECONDS, STORE_COMMIT_SECONDS];

/// Describes every metric (unit and help) to the installed recorder. Call it once
/// after installing one; recording works without it.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(PLACEMENTS, "Tasks whose placement was attempted, by result");
    describe_counter!(
        PLACEMENT_FAILURES,
        "Tasks that could not be placed, by reason"
    );
    describe_histogram!(
        PLACEMENT_SECONDS,
        Unit::Seconds,
        "Placement decision latency"
    );
    describe_counter!(ENGINE_CALLS, "Calls to container engines, by operation");
    describe_counter!(
        ENGINE_CALL_ERRORS,
        "Engine calls that failed, by operation and error"
    );
    describe_histogram!(ENGINE_CALL_SECONDS, Unit::Seconds, "Engine call latency");
    describe_counter!(STORE_COMMITS, "Commits to the state store, by result");
    describe_histogram!(STORE_COMMIT_SECONDS, Unit::Seconds, "Store commit latency");
    describe_gauge!(TASKS, "Tasks by cluster and last status");
    describe_gauge!(SERVICE_DESIRED, "Services' desired task counts");
    describe_gauge!(SERVICE_RUNNING, "Services' RUNNING task counts");
    describe_gauge!(SERVICE_PENDING, "Services' pending task counts");
    describe_gauge!(DEPLOYMENTS, "Deployments by rollout state");
    describe_gauge!(CAPACITY_RESERVATION, "CapacityProviderReservation, percent");
    describe_gauge!(CAPACITY_INSTANCES, "Capacity providers' instances");
    describe_gauge!(TASKS_WAITING, "Tasks waiting for capacity");
}
