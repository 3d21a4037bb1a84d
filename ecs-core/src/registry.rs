//! The task definition registry: families and their revisions, as ECS keeps them.

use std::collections::BTreeMap;

use crate::ids::{ArnScope, Family, Revision, TaskDefinitionRef};
use crate::task_definition::{Compatibility, TaskDefinition, TaskDefinitionStatus, Warning};
use crate::{Error, ResourceKind};

/// ECS's limit on a task definition: 64 KiB of JSON.
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;

/// What [`TaskDefinitionRegistry::register`] returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Registered {
    /// `family:revision` of the new revision.
    pub reference: TaskDefinitionRef,
    /// The stored revision, with its ARN, revision, status and registration time.
    pub definition: TaskDefinition,
    /// What validation noticed (AWS-only features, ignored read-only keys ...).
    pub warnings: Vec<Warning>,
}

/// Task definitions by family and revision.
///
/// Registering validates first and stores nothing on failure. Revisions count up from 1
/// per family and are never reused, even after deregistration; a deregistered revision
/// is INACTIVE: still describable, no longer usable for new tasks.
#[derive(Debug, Clone, Default)]
pub struct TaskDefinitionRegistry {
    scope: ArnScope,
    /// Each family's revisions; revision `n` is at index `n - 1`.
    families: BTreeMap<Family, Vec<TaskDefinition>>,
    /// Counts changes, so that a durable copy knows when to look again.
    generation: u64,
}

impl TaskDefinitionRegistry {
    /// An empty registry whose ARNs use the local region and account.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry whose ARNs use `scope`.
    pub fn with_scope(scope: ArnScope) -> Self {
        Self {
            scope,
            families: BTreeMap::new(),
            generation: 0,
        }
    }

    /// Validates `definition` and stores it as the next revision of its family.
    ///
    /// Read-only keys of describe output (`revision`, `taskDefinitionArn`, `status` ...)
    /// are replaced by the registry's own.
    pub fn register(&mut self, mut definition: TaskDefinition) -> Result<Registered, Error> {
        let warnings = definition.validate()?;
        let size = serde_json::to_vec(&definition).map_or(0, |json| json.len());
        if size > MAX_TASK_DEFINITION_BYTES {
            return Err(Error::InvalidParameter {
                operation: "RegisterTaskDefinition",
                member: "containerDefinitions",
                reason: format!(
                    "the task definition is {size} bytes of JSON, above ECS's limit of \
                     {MAX_TASK_DEFINITION_BYTES} (64 KiB)"
                ),
            });
        }
        let family = Family::new(definition.family())?;
        let revisions = self.families.get(&family).map_or(0, Vec::len);
        let revision = Revision::new(u32::try_from(revisions + 1).unwrap_or(u32::MAX))
            .ok()
            .filter(|r| r.get() as usize == revisions + 1)
            .ok_or_else(|| Error::InvalidId {
                kind: "revision",
                value: family.to_string(),
                reason: "the family has no revision numbers left".to_owned(),
            })?;
        let reference = TaskDefinitionRef::new(family.clone(), revision);

        definition.task_definition_arn = Some(
            self.scope
                .arn(format!("task-definition/{reference}"))
                .to_string(),
        );
        definition.revision = i32::try_from(revision.get()).ok();
        definition.status = Some(TaskDefinitionStatus::Active);
        definition.registered_at = Some(jiff::Timestamp::now());
        definition.deregistered_at = None;
        definition.delete_requested_at = None;
        definition.compatibilities = Some(
            definition
                .requires_compatibilities
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| vec![Compatibility::Ec2, Compatibility::External]),
        );

        self.families
            .entry(family)
            .or_default()
            .push(definition.clone());
        self.generation += 1;
        Ok(Registered {
            reference,
            definition,
            warnings,
        })
    }

    /// The revision `reference` names; a bare family names its latest ACTIVE revision.
    pub fn describe(&self, reference: &TaskDefinitionRef) -> Result<&TaskDefinition, Error> {
        let not_found = || Error::not_found(ResourceKind::TaskDefinition, reference);
        let revisions = self.families.get(&reference.family).ok_or_else(not_found)?;
        match reference.revision {
            Some(r) => revisions.get(r.get() as usize - 1).ok_or_else(not_found),
            None => revisions
                .iter()
                .rev()
                .find(|td| td.status == Some(TaskDefinitionStatus::Active))
                .ok_or_else(not_found),
        }
    }

    /// As [`describe`](Self::describe), for starting tasks: an INACTIVE revision is an
    /// error.
    pub fn resolve_active(&self, reference: &TaskDefinitionRef) -> Result<&TaskDefinition, Error> {
        let td = self.describe(reference)?;
        if td.status == Some(TaskDefinitionStatus::Active) {
            Ok(td)
        } else {
            Err(Error::TaskDefinitionInactive(reference.to_string()))
        }
    }

    /// Families with at least one revision of `status` (every family when `None`), in
    /// name order.
    pub fn list_families(&self, status: Option<TaskDefinitionStatus>) -> Vec<&Family> {
        self.families
            .iter()
            .filter(|(_, revisions)| {
                status.is_none_or(|s| revisions.iter().any(|td| td.status == Some(s)))
            })
            .map(|(family, _)| family)
            .collect()
    }

    /// The revisions of `family` with `status` (all when `None`), oldest first.
    pub fn list_revisions(
        &self,
        family: &Family,
        status: Option<TaskDefinitionStatus>,
    ) -> Vec<TaskDefinitionRef> {
        self.families
            .get(family)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, td)| status.is_none_or(|s| td.status == Some(s)))
            .filter_map(|(i, _)| {
                let revision = Revision::new(u32::try_from(i + 1).ok()?).ok()?;
                Some(TaskDefinitionRef::new(family.clone(), revision))
            })
            .collect()
    }

    /// Marks one revision INACTIVE. It stays describable; new tasks and services can no
    /// longer use it. Deregistering an INACTIVE revision again changes nothing.
    pub fn deregister(&mut self, reference: &TaskDefinitionRef) -> Result<&TaskDefinition, Error> {
        let Some(revision) = reference.revision else {
            return Err(Error::InvalidId {
                kind: "task definition",
                value: reference.to_string(),
                reason: "deregistering needs family:revision".to_owned(),
            });
        };
        let td = self
            .families
            .get_mut(&reference.family)
            .and_then(|revisions| revisions.get_mut(revision.get() as usize - 1))
            .ok_or_else(|| Error::not_found(ResourceKind::TaskDefinition, reference))?;
        // INACTIVE stays so; one being deleted is not brought back.
        if td.status == Some(TaskDefinitionStatus::Active) {
            td.status = Some(TaskDefinitionStatus::Inactive);
            td.deregistered_at = Some(jiff::Timestamp::now());
            self.generation += 1;
        }
        Ok(td)
    }

    /// Marks INACTIVE revisions DELETE_IN_PROGRESS (DeleteTaskDefinitions): they stay
    /// describable (tasks may still run them) and can never be used again. Each revision
    /// is its own: an ACTIVE one (deregister it first), a bare family or an unknown one
    /// is refused on its own, and the others are deleted.
    pub fn delete(
        &mut self,
        references: &[TaskDefinitionRef],
    ) -> Vec<Result<TaskDefinition, Error>> {
        let mut changed = false;
        let out = references
            .iter()
            .map(|reference| {
                let td = self.describe(reference)?;
                if reference.revision.is_none() || td.status == Some(TaskDefinitionStatus::Active) {
                    return Err(Error::InvalidParameter {
                        operation: "DeleteTaskDefinitions",
                        member: "taskDefinitions",
                        reason: format!(
                            "{reference}: only an INACTIVE revision (family:revision) can be deleted; deregister it first"
                        ),
                    });
                }
                let td = self
                    .revision_mut(reference)
                    .ok_or_else(|| Error::not_found(ResourceKind::TaskDefinition, reference))?;
                if td.status != Some(TaskDefinitionStatus::DeleteInProgress) {
                    td.status = Some(TaskDefinitionStatus::DeleteInProgress);
                    changed = true;
                }
                Ok(td.clone())
            })
            .collect();
        if changed {
            self.generation += 1;
        }
        out
    }

    /// Replaces a revision's tags.
    pub(crate) fn set_tags(
        &mut self,
        reference: &TaskDefinitionRef,
        tags: Option<Vec<crate::task_definition::Tag>>,
    ) -> Result<(), Error> {
        let td = self
            .revision_mut(reference)
            .ok_or_else(|| Error::not_found(ResourceKind::TaskDefinition, reference))?;
        if td.tags != tags {
            td.tags = tags;
            self.generation += 1;
        }
        Ok(())
    }

    fn revision_mut(&mut self, reference: &TaskDefinitionRef) -> Option<&mut TaskDefinition> {
        let revision = reference.revision?;
        self.families
            .get_mut(&reference.family)?
            .get_mut(revision.get() as usize - 1)
    }

    /// Counts the registry's changes.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Every revision of every family, by family, then revision.
    pub(crate) fn definitions(&self) -> impl Iterator<Item = &TaskDefinition> {
        self.families.values().flatten()
    }

    /// Puts back a revision as it was registered (from a durable copy): its family's
    /// revisions must come back in order, 1 first.
    pub(crate) fn restore(&mut self, definition: TaskDefinition) -> Result<(), Error> {
        let family = Family::new(definition.family())?;
        let revisions = self.families.entry(family.clone()).or_default();
        let expected = revisions.len() + 1;
        if definition.revision.and_then(|r| usize::try_from(r).ok()) != Some(expected) {
            return Err(Error::InvalidId {
                kind: "revision",
                value: format!("{family}:{:?}", definition.revision),
                reason: format!("revisions come back in order: expected {expected}"),
            });
        }
        revisions.push(definition);
        self.generation += 1;
        Ok(())
    }
}
