//! Placement strategies and constraints: ECS's built-ins, and traits for your own.

use std::fmt;
use std::sync::Arc;

use super::api::{self, PlacementConstraintType, PlacementStrategyType};
use super::outcome::FailureReason;
use super::query::{Query, QueryTarget};
use super::requirements::TaskRequirements;
use crate::Error;
use crate::cluster::{Cluster, ContainerInstance, attributes};

/// What binpack packs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinpackField {
    /// Least remaining CPU first.
    Cpu,
    /// Least remaining memory first.
    Memory,
}

/// What spread evens out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpreadField {
    /// Each instance (`instanceId`, `host`, `attribute:ecs.instance-id`).
    InstanceId,
    /// The values of an attribute, e.g. `ecs.availability-zone`.
    Attribute(String),
}

/// One placement strategy. A request applies them in order, each breaking the ties of
/// the ones before (ECS allows five); the instance registered first breaks the last tie.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// Least remaining of a resource first: fills instances before starting new ones.
    Binpack(BinpackField),
    /// Fewest tasks of the group per value of a field first.
    Spread(SpreadField),
    /// Uniformly at random among the candidates.
    Random,
    /// Your own, scoring instances (lower is better).
    Custom(Arc<dyn CustomStrategy>),
}

impl Strategy {
    /// `spread(attribute:ecs.availability-zone)`.
    pub fn spread_zones() -> Self {
        Strategy::Spread(SpreadField::Attribute(
            attributes::AVAILABILITY_ZONE.to_owned(),
        ))
    }

    /// Reads the API's shape.
    pub fn from_api(s: &api::PlacementStrategy) -> Result<Self, Error> {
        let field = s.field.as_deref();
        let bad = |what: &str| Error::InvalidPlacement(format!("{} strategy: {what}", s.kind));
        match s.kind {
            PlacementStrategyType::Random => Ok(Strategy::Random),
            PlacementStrategyType::Binpack => match field.map(str::to_ascii_lowercase).as_deref() {
                Some("cpu") => Ok(Strategy::Binpack(BinpackField::Cpu)),
                Some("memory") => Ok(Strategy::Binpack(BinpackField::Memory)),
                Some(other) => Err(bad(&format!("field {other:?} is not cpu or memory"))),
                None => Err(bad("needs a field, cpu or memory")),
            },
            PlacementStrategyType::Spread => match field {
                Some("instanceId" | "host") => Ok(Strategy::Spread(SpreadField::InstanceId)),
                Some(f) => match f.strip_prefix("attribute:") {
                    Some(attributes::INSTANCE_ID) => Ok(Strategy::Spread(SpreadField::InstanceId)),
                    Some(name) if !name.is_empty() => {
                        Ok(Strategy::Spread(SpreadField::Attribute(name.to_owned())))
                    }
                    _ => Err(bad(&format!(
                        "field {f:?} is not instanceId, host or attribute:NAME"
                    ))),
                },
                None => Err(bad("needs a field: instanceId, host or attribute:NAME")),
            },
        }
    }
}

/// One placement constraint. A request's constraints all hold on every instance chosen.
#[derive(Debug, Clone)]
pub enum Constraint {
    /// No two tasks of the group on one instance.
    DistinctInstance,
    /// Only instances carrying all these attributes (ECS's `requiresAttributes`, e.g.
    /// the capabilities a task definition needs from the instance's runtime).
    RequiresAttributes(Vec<String>),
    /// Only instances the cluster query expression selects.
    MemberOf(Query),
    /// Your own.
    Custom(Arc<dyn CustomConstraint>),
}

impl Constraint {
    /// `memberOf(expression)`.
    pub fn member_of(expression: &str) -> Result<Self, Error> {
        Query::parse(expression)
            .map(Constraint::MemberOf)
            .map_err(|error| Error::Query {
                expression: expression.to_owned(),
                error,
            })
    }

    /// Reads the API's shape.
    pub fn from_api(c: &api::PlacementConstraint) -> Result<Self, Error> {
        match (c.kind, c.expression.as_deref()) {
            (PlacementConstraintType::DistinctInstance, None) => Ok(Constraint::DistinctInstance),
            (PlacementConstraintType::DistinctInstance, Some(_)) => Err(Error::InvalidPlacement(
                "distinctInstance takes no expression".into(),
            )),
            (PlacementConstraintType::MemberOf, Some(e)) => Self::member_of(e),
            (PlacementConstraintType::MemberOf, None) => Err(Error::InvalidPlacement(
                "memberOf needs an expression".into(),
            )),
        }
    }

    /// What a placement failure names when this constraint rejects `instance`.
    pub fn reason(&self, instance: &ContainerInstance) -> FailureReason {
        match self {
            Constraint::DistinctInstance => FailureReason::DistinctInstance,
            Constraint::RequiresAttributes(names) => FailureReason::Attribute(
                names
                    .iter()
                    .find(|n| instance.attribute(n).is_none())
                    .cloned()
                    .unwrap_or_default(),
            ),
            Constraint::MemberOf(_) => FailureReason::MemberOf,
            Constraint::Custom(c) => FailureReason::Custom(c.name().to_owned()),
        }
    }

    /// Whether `instance` satisfies the constraint.
    pub fn admits(&self, instance: &ContainerInstance, ctx: &PlacementContext<'_>) -> bool {
        match self {
            Constraint::DistinctInstance => ctx.group_tasks_on(instance) == 0,
            Constraint::RequiresAttributes(names) => {
                names.iter().all(|n| instance.attribute(n).is_some())
            }
            Constraint::MemberOf(q) => q.matches(&InstanceTarget {
                cluster: ctx.cluster,
                instance,
            }),
            Constraint::Custom(c) => c.admits(instance, ctx),
        }
    }
}

/// A strategy of your own: the scheduler prefers the instance with the lowest score.
/// Requests with custom strategies are placed by scanning every instance.
pub trait CustomStrategy: fmt::Debug + Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str;
    /// The score of placing the next task of the request on `instance`; lower is better.
    fn score(&self, instance: &ContainerInstance, ctx: &PlacementContext<'_>) -> i64;
}

/// A constraint of your own. Requests with custom constraints are placed by scanning
/// every instance.
pub trait CustomConstraint: fmt::Debug + Send + Sync {
    /// The name placement failures report.
    fn name(&self) -> &str;
    /// Whether the next task of the request may go on `instance`.
    fn admits(&self, instance: &ContainerInstance, ctx: &PlacementContext<'_>) -> bool;
}

/// What strategies and constraints may look at while deciding.
#[derive(Debug, Clone, Copy)]
pub struct PlacementContext<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) group: &'a str,
    pub(crate) requirements: &'a TaskRequirements,
}

impl<'a> PlacementContext<'a> {
    /// The cluster, as it is at this decision (earlier tasks of the request included).
    pub fn cluster(&self) -> &'a Cluster {
        self.cluster
    }

    /// The task group being placed (`service:web`, `family:batch`).
    pub fn group(&self) -> &'a str {
        self.group
    }

    /// What each task needs.
    pub fn requirements(&self) -> &'a TaskRequirements {
        self.requirements
    }

    /// How many tasks of the group hold resources on `instance`.
    pub fn group_tasks_on(&self, instance: &ContainerInstance) -> u32 {
        self.cluster.group_tasks_on(instance, self.group)
    }
}

/// A container instance as the query language sees it.
pub(crate) struct InstanceTarget<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) instance: &'a ContainerInstance,
}

impl QueryTarget for InstanceTarget<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.instance.attribute(name)
    }
    fn instance_id(&self) -> &str {
        self.instance.id().as_str()
    }
    fn agent_connected(&self) -> bool {
        self.instance.agent_connected()
    }
    fn agent_version(&self) -> Option<&str> {
        self.instance.agent_version()
    }
    fn registered_at(&self) -> jiff::Timestamp {
        self.instance.registered_at()
    }
    fn running_tasks_count(&self) -> u32 {
        self.instance.running_tasks_count()
    }
    fn has_task_group(&self, group: &str) -> bool {
        self.cluster.group_tasks_on(self.instance, group) > 0
    }
}
