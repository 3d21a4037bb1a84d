//! `placementStrategy` and `placementConstraints` in RunTask's and CreateService's JSON
//! shapes.

use serde::{Deserialize, Serialize};

use crate::task_definition::enums::api_enum;

api_enum!(
    /// A placement strategy's type.
    PlacementStrategyType {
        /// Random among the candidates.
        Random = "random",
        /// Even across the values of a field.
        Spread = "spread",
        /// Least remaining of a resource first.
        Binpack = "binpack",
    }
);

api_enum!(
    /// A placement constraint's type.
    PlacementConstraintType {
        /// Each task of the group on a different instance.
        DistinctInstance = "distinctInstance",
        /// Only instances matching a cluster query expression.
        MemberOf = "memberOf",
    }
);

/// A placement strategy as the API writes it: `{"type": "spread", "field": "attribute:ecs.availability-zone"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlacementStrategy {
    /// The strategy.
    #[serde(rename = "type")]
    pub kind: PlacementStrategyType,
    /// `cpu`/`memory` for binpack; `instanceId`, `host` or `attribute:NAME` for spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl PlacementStrategy {
    /// A strategy of `kind` on `field`.
    pub fn new(kind: PlacementStrategyType, field: Option<&str>) -> Self {
        Self {
            kind,
            field: field.map(str::to_owned),
        }
    }
}

/// A placement constraint as the API writes it: `{"type": "memberOf", "expression": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlacementConstraint {
    /// The constraint.
    #[serde(rename = "type")]
    pub kind: PlacementConstraintType,
    /// The cluster query expression (memberOf only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl PlacementConstraint {
    /// A constraint of `kind`, with an expression for memberOf.
    pub fn new(kind: PlacementConstraintType, expression: Option<&str>) -> Self {
        Self {
            kind,
            expression: expression.map(str::to_owned),
        }
    }
}
