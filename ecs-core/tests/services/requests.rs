//! Requests: what CreateService and UpdateService refuse, with the member at fault and
//! nothing half-made; the AWS CLI's input; ECS's maximum of placement constraints, which
//! must still place; and a service created outside a Tokio runtime.

use crate::support::services::{Harness, cluster, web};
use crate::{WEB, service};
use ecs_core::control::EcsConfig;
use ecs_core::placement::api::{
    PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
};
use ecs_core::service::{
    CreateService, DeploymentConfiguration, SchedulingStrategy, ServiceLimits, UpdateService,
};
use ecs_core::{Error, ResourceKind, ServiceName};

#[tokio::test(start_paused = true)]
async fn bad_requests_are_refused_with_the_member_at_fault() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let refuse = |r: CreateService, want: &str| {
        let err = h.ecs.create_service(r).unwrap_err();
        assert!(err.to_string().contains(want), "{err} lacks {want:?}");
    };
    refuse(
        service(1).with_deployment_configuration(
            DeploymentConfiguration::default().with_percents(50, 90),
        ),
        "maximumPercent 90 is below 100",
    );
    refuse(
        service(1).with_deployment_configuration(
            DeploymentConfiguration::default().with_percents(100, 100),
        ),
        "must be above minimumHealthyPercent",
    );
    let mut daemon = CreateService::daemon(cluster(), web(), "web".parse().unwrap());
    daemon.desired_count = Some(2);
    refuse(daemon, "desiredCount: a DAEMON service");
    refuse(
        service(5001),
        "desiredCount 5001 is above the cluster's limit of 5000",
    );
    refuse(
        CreateService::new(cluster(), web(), "nope".parse().unwrap(), 1),
        "nope",
    );
    h.ecs
        .set_service_limits(&cluster(), ServiceLimits::new(1, 10))
        .unwrap();
    refuse(service(11), "limit of 10 tasks per service");
    h.ecs.create_service(service(1)).unwrap();
    let err = h.ecs.create_service(service(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyExists {
                kind: ResourceKind::Service,
                ..
            }
        ),
        "{err}"
    );
    let other = CreateService::new(cluster(), "api".parse().unwrap(), "web".parse().unwrap(), 1);
    let err = h.ecs.create_service(other).unwrap_err();
    assert!(
        matches!(err, Error::ServiceLimitExceeded { limit: 1, .. }),
        "{err}"
    );
    let err = h
        .ecs
        .update_service(
            UpdateService::new(cluster(), "nope".parse().unwrap()).with_desired_count(1),
        )
        .unwrap_err();
    assert!(err.is_not_found(ResourceKind::Service), "{err}");
    // Nothing was half-made: the one valid service is the only one.
    assert_eq!(h.ecs.list_services(&cluster()).unwrap(), [web()]);
}

#[test]
fn create_service_reads_the_aws_cli_input() {
    let json = r#"{
        "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/dev",
        "serviceName": "web",
        "taskDefinition": "web:3",
        "desiredCount": 4,
        "launchType": "EC2",
        "deploymentConfiguration": {
            "maximumPercent": 150, "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        "healthCheckGracePeriodSeconds": 30,
        "tags": [{"key": "team", "value": "edge"}]
    }"#;
    let r = CreateService::from_json(json).unwrap();
    assert_eq!(r.cluster.as_str(), "dev");
    assert_eq!(r.service_name, "web".parse::<ServiceName>().unwrap());
    assert_eq!(r.desired_count, Some(4));
    assert_eq!(r.strategy(), SchedulingStrategy::Replica);
    let d = r.deployment_configuration.unwrap();
    assert_eq!(d.percents(SchedulingStrategy::Replica), (50, 150));
    assert!(d.breaker().unwrap().rollback);
    let err = CreateService::from_json(
        r#"{"serviceName": "web", "taskDefinition": "web", "desiredCount": -1}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("desiredCount"), "{err}");
}

/// A service with 10 placement constraints (ECS's maximum) is placed and reaches a
/// steady state: the internal constraints every launch adds do not count against the
/// limit.
#[tokio::test(start_paused = true)]
async fn ten_constraints_place() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let mut req = service(1);
    for i in 0..10 {
        req = req.with_placement_constraint(PlacementConstraint::new(
            PlacementConstraintType::MemberOf,
            Some(&format!("ec2InstanceId != 'nope-{i}'")),
        ));
    }
    h.ecs.create_service(req).unwrap();
    h.steady(&web()).await;
}

/// A DAEMON service with 9 placement constraints is placed and reaches a steady state,
/// beside the per-instance constraint and RequiresAttributes its launches add.
#[tokio::test(start_paused = true)]
async fn daemon_with_nine_constraints_places() {
    let h = Harness::new(1).await;
    h.register(WEB);
    let mut req = CreateService::daemon(cluster(), web(), "web".parse().unwrap());
    for i in 0..9 {
        req = req.with_placement_constraint(PlacementConstraint::new(
            PlacementConstraintType::MemberOf,
            Some(&format!("ec2InstanceId != 'nope-{i}'")),
        ));
    }
    h.ecs.create_service(req).unwrap();
    h.steady(&web()).await;
}

/// UpdateService refuses a placement strategy for a DAEMON service, as CreateService does.
#[tokio::test(start_paused = true)]
async fn daemon_update_with_placement_strategy_is_refused() {
    let h = Harness::new(1).await;
    h.register(WEB);
    h.ecs
        .create_service(CreateService::daemon(
            cluster(),
            web(),
            "web".parse().unwrap(),
        ))
        .unwrap();
    let mut u = UpdateService::new(cluster(), web());
    u.placement_strategy = Some(vec![PlacementStrategy::new(
        PlacementStrategyType::Spread,
        Some("instanceId"),
    )]);
    assert!(h.ecs.update_service(u).is_err(), "accepted");
}

/// CreateService outside a Tokio runtime is refused with an error naming the missing
/// runtime, and leaves nothing behind: the name is not taken.
#[test]
fn create_service_outside_a_runtime_is_refused_cleanly() {
    let ecs = ecs_core::Ecs::new(EcsConfig::default());
    ecs.create_cluster(cluster()).unwrap();
    ecs.register_task_definition(ecs_core::TaskDefinition::from_json(WEB).unwrap().definition)
        .unwrap();
    let err = ecs.create_service(service(1)).unwrap_err();
    assert!(err.to_string().contains("within a Tokio runtime"), "{err}");
    assert!(ecs.list_services(&cluster()).unwrap().is_empty());
}
