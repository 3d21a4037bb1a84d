//! Tags on resources named by their ARNs (TagResource, UntagResource,
//! ListTagsForResource): clusters, container instances, task definitions, tasks and
//! services, each kept with its resource (and durable with it).

use super::Ecs;
use crate::ids::{Arn, ClusterName, InstanceId, ServiceName, TaskDefinitionRef, TaskId};
use crate::tags::{self, Tags};
use crate::{Error, ResourceKind};

/// A taggable resource, as its ARN names it.
enum Resource {
    Cluster(ClusterName),
    Instance(ClusterName, InstanceId),
    TaskDefinition(TaskDefinitionRef),
    Task(ClusterName, TaskId),
    Service(ClusterName, ServiceName),
}

impl Resource {
    fn of(arn: &Arn) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidId {
            kind: "resource ARN",
            value: arn.to_string(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = arn.resource.split('/').collect();
        Ok(match parts.as_slice() {
            ["cluster", name] => Resource::Cluster(name.parse()?),
            ["container-instance", cluster, id] => {
                Resource::Instance(cluster.parse()?, id.parse()?)
            }
            ["task-definition", reference] => {
                let reference: TaskDefinitionRef = reference.parse()?;
                if reference.revision.is_none() {
                    return Err(invalid("a task definition is tagged by family:revision"));
                }
                Resource::TaskDefinition(reference)
            }
            ["task", cluster, id] => Resource::Task(cluster.parse()?, id.parse()?),
            ["service", cluster, name] => Resource::Service(cluster.parse()?, name.parse()?),
            _ => {
                return Err(invalid(
                    "not a cluster, container instance, task definition, task or service",
                ));
            }
        })
    }
}

fn from_service_tags(tags: &[crate::service::Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
        .collect()
}

fn to_service_tags(tags: &Tags) -> Vec<crate::service::Tag> {
    tags.iter()
        .map(|(k, v)| crate::service::Tag {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect()
}

fn from_definition_tags(tags: Option<&Vec<crate::task_definition::Tag>>) -> Tags {
    tags.into_iter()
        .flatten()
        .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
        .collect()
}

impl Ecs {
    /// The tags of the resource `arn` names (ListTagsForResource).
    pub fn list_tags_for_resource(&self, arn: &Arn) -> Result<Tags, Error> {
        let resource = Resource::of(arn)?;
        let s = self.state().lock();
        let cluster_of = |name: &ClusterName| {
            s.clusters
                .get(name)
                .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))
        };
        Ok(match &resource {
            Resource::Cluster(name) => cluster_of(name)?.tags.clone(),
            Resource::Instance(cluster, id) => cluster_of(cluster)?
                .cluster
                .instance(id)
                .ok_or_else(|| Error::not_found_in(ResourceKind::ContainerInstance, id, cluster))?
                .tags()
                .clone(),
            Resource::TaskDefinition(reference) => {
                from_definition_tags(s.registry.describe(reference)?.tags.as_ref())
            }
            Resource::Task(cluster, id) => {
                cluster_of(cluster)?;
                s.tasks
                    .get(id)
                    .filter(|e| e.task.cluster == *cluster)
                    .ok_or_else(|| Error::not_found_in(ResourceKind::Task, id, cluster))?
                    .task
                    .tags
                    .clone()
            }
            Resource::Service(cluster, name) => {
                cluster_of(cluster)?;
                let entry = s
                    .services
                    .get(&(cluster.clone(), name.clone()))
                    .ok_or_else(|| Error::not_found_in(ResourceKind::Service, name, cluster))?;
                from_service_tags(&entry.service.tags)
            }
        })
    }

    /// Adds tags to the resource `arn` names (TagResource); a key it has already takes
    /// the new value. Every tag is checked before any is set.
    pub fn tag_resource(&self, arn: &Arn, new: &Tags) -> Result<(), Error> {
        self.change_tags(arn, |current| tags::merged("TagResource", current, new))
    }

    /// Removes the tags of these keys from the resource `arn` names (UntagResource);
    /// absent keys are ignored.
    pub fn untag_resource(&self, arn: &Arn, keys: &[String]) -> Result<(), Error> {
        self.change_tags(arn, |current| {
            let mut tags = current.clone();
            for k in keys {
                tags.remove(k);
            }
            Ok(tags)
        })
    }

    /// Replaces the tags of the resource `arn` names with what `change` makes of them,
    /// read and written under one lock: two requests at once both count.
    fn change_tags(
        &self,
        arn: &Arn,
        change: impl Fn(&Tags) -> Result<Tags, Error>,
    ) -> Result<(), Error> {
        let resource = Resource::of(arn)?;
        if let Resource::Task(cluster, id) = &resource {
            {
                let s = self.state().lock();
                if !s.clusters.contains_key(cluster) {
                    return Err(Error::not_found(ResourceKind::Cluster, cluster));
                }
                if s.tasks.get(id).is_none_or(|e| e.task.cluster != *cluster) {
                    return Err(Error::not_found_in(ResourceKind::Task, id, cluster));
                }
            }
            // Through the task's own change path (its version moves, it is durable),
            // which runs `change` on the task as it is when the change lands.
            let mut outcome = Ok(());
            self.state().update_task(id, |t| match change(&t.tags) {
                Ok(tags) => {
                    t.tags = tags;
                    outcome = Ok(());
                }
                Err(e) => outcome = Err(e),
            });
            return outcome;
        }
        {
            let mut s = self.state().lock();
            let s = &mut *s;
            match &resource {
                Resource::Cluster(name) => {
                    let entry = s
                        .clusters
                        .get_mut(name)
                        .ok_or_else(|| Error::not_found(ResourceKind::Cluster, name))?;
                    entry.tags = change(&entry.tags)?;
                }
                Resource::Instance(cluster, id) => {
                    let c = &mut s
                        .clusters
                        .get_mut(cluster)
                        .ok_or_else(|| Error::not_found(ResourceKind::Cluster, cluster))?
                        .cluster;
                    let current = c
                        .instance(id)
                        .ok_or_else(|| {
                            Error::not_found_in(ResourceKind::ContainerInstance, id, cluster)
                        })?
                        .tags()
                        .clone();
                    c.set_tags(id, change(&current)?)?;
                }
                Resource::TaskDefinition(reference) => {
                    let current =
                        from_definition_tags(s.registry.describe(reference)?.tags.as_ref());
                    let tags = change(&current)?;
                    let tags = (!tags.is_empty()).then(|| {
                        tags.iter()
                            .map(|(k, v)| crate::task_definition::Tag::new(k, v))
                            .collect()
                    });
                    s.registry.set_tags(reference, tags)?;
                }
                Resource::Service(cluster, name) => {
                    if !s.clusters.contains_key(cluster) {
                        return Err(Error::not_found(ResourceKind::Cluster, cluster));
                    }
                    let service = &mut s
                        .services
                        .get_mut(&(cluster.clone(), name.clone()))
                        .ok_or_else(|| Error::not_found_in(ResourceKind::Service, name, cluster))?
                        .service;
                    service.tags = to_service_tags(&change(&from_service_tags(&service.tags))?);
                }
                Resource::Task(..) => {}
            }
        }
        self.state().touched();
        Ok(())
    }
}
