//! A request to place `count` tasks of one group.

use super::api;
use super::requirements::TaskRequirements;
use super::rules::{Constraint, Strategy};
use crate::Error;
use crate::task_definition::TaskDefinition;

/// ECS's limit on strategies per request.
pub const MAX_STRATEGIES: usize = 5;
/// ECS's limit on constraints per request (task definition and run time together).
pub const MAX_CONSTRAINTS: usize = 10;

/// Place `count` tasks of `group`, each needing `requirements`, where every constraint
/// holds, preferring instances by the strategies in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlacementRequest {
    /// The task group: `service:NAME` for a service's tasks, `family:NAME` by default for
    /// standalone ones. Spread and distinctInstance count tasks of this group.
    pub group: String,
    /// What each task needs.
    pub requirements: TaskRequirements,
    /// How many tasks.
    pub count: u32,
    /// Preferences, in order; none means `random`.
    pub strategies: Vec<Strategy>,
    /// Conditions every chosen instance meets.
    pub constraints: Vec<Constraint>,
    /// How many of `constraints` the library added itself (capabilities, a DAEMON
    /// task's instance): they do not count against ECS's limit.
    pub(crate) internal: usize,
}

impl PlacementRequest {
    /// `count` tasks of `group` needing `requirements`, with no strategy or constraint.
    pub fn new(group: impl Into<String>, requirements: TaskRequirements, count: u32) -> Self {
        Self {
            group: group.into(),
            requirements,
            count,
            strategies: Vec::new(),
            constraints: Vec::new(),
            internal: 0,
        }
    }

    /// `count` tasks of `td`: its requirements, the group `family:FAMILY`, and its
    /// memberOf constraints.
    pub fn for_task_definition(td: &TaskDefinition, count: u32) -> Result<Self, Error> {
        let mut request = Self::new(
            format!("family:{}", td.family()),
            TaskRequirements::from_task_definition(td),
            count,
        );
        for c in td.placement_constraints() {
            if let Some(expression) = c.expression.as_deref() {
                request.constraints.push(Constraint::member_of(expression)?);
            }
        }
        Ok(request)
    }

    /// Sets the group.
    #[must_use]
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// Appends a strategy.
    #[must_use]
    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategies.push(strategy);
        self
    }

    /// Appends a constraint.
    #[must_use]
    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraints.push(constraint);
        self
    }

    /// Appends strategies in the API's shape.
    pub fn with_api_strategies(
        mut self,
        strategies: &[api::PlacementStrategy],
    ) -> Result<Self, Error> {
        for s in strategies {
            self.strategies.push(Strategy::from_api(s)?);
        }
        Ok(self)
    }

    /// Appends constraints in the API's shape (they combine with the task definition's).
    pub fn with_api_constraints(
        mut self,
        constraints: &[api::PlacementConstraint],
    ) -> Result<Self, Error> {
        for c in constraints {
            self.constraints.push(Constraint::from_api(c)?);
        }
        Ok(self)
    }

    /// ECS's limits.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.strategies.len() > MAX_STRATEGIES {
            return Err(Error::InvalidPlacement(format!(
                "at most {MAX_STRATEGIES} placement strategies are allowed, found {}",
                self.strategies.len()
            )));
        }
        let given = self.constraints.len().saturating_sub(self.internal);
        if given > MAX_CONSTRAINTS {
            return Err(Error::InvalidPlacement(format!(
                "at most {MAX_CONSTRAINTS} placement constraints are allowed, found {given}"
            )));
        }
        Ok(())
    }
}
