//! Rules on names that point elsewhere in the document: unique container names, links,
//! dependsOn (and its cycles), volumesFrom, mount points, the proxy container, and host
//! ports claimed twice across the task.

use std::collections::{HashMap, HashSet};

use super::Report;
use crate::json_path::JsonPath;
use crate::task_definition::TaskDefinition;
use crate::task_definition::diagnostics::ViolationKind;
use crate::task_definition::enums::{ContainerCondition, NetworkMode};

pub(super) fn check(td: &TaskDefinition, root: &JsonPath, r: &mut Report) {
    let containers = root.key("containerDefinitions");
    // Name -> index of the first container with it.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, c) in td.containers().iter().enumerate() {
        let Some(name) = c.name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        if let Some(&first) = index.get(name) {
            r.violation(
                containers.index(i).key("name"),
                ViolationKind::DuplicateContainerName {
                    name: name.to_owned(),
                    first,
                },
            );
        } else {
            index.insert(name, i);
        }
    }
    let volumes: HashSet<&str> = td.volumes().iter().map(|v| v.name()).collect();
    let mode = td.effective_network_mode();

    for (i, c) in td.containers().iter().enumerate() {
        let path = containers.index(i);
        let me = c.name();
        if !c.links().is_empty() && mode != NetworkMode::Bridge {
            r.violation(
                path.key("links"),
                ViolationKind::NotAllowedInNetworkMode {
                    mode: mode.as_str(),
                },
            );
        }
        for (j, link) in c.links().iter().enumerate() {
            // `name` or `name:alias`.
            let target = link.split(':').next().unwrap_or("");
            container_ref(r, &index, path.key("links").index(j), me, Some(target));
        }
        for (j, dep) in c.depends_on().iter().enumerate() {
            let dep_path = path.key("dependsOn").index(j);
            let found = container_ref(
                r,
                &index,
                dep_path.key("containerName"),
                me,
                Some(&dep.container_name),
            );
            let Some(target) = found.map(|t| &td.containers()[t]) else {
                continue;
            };
            match dep.condition {
                ContainerCondition::Healthy if target.health_check.is_none() => r.violation(
                    dep_path.key("condition"),
                    ViolationKind::HealthyWithoutHealthCheck {
                        name: dep.container_name.clone(),
                    },
                ),
                ContainerCondition::Complete | ContainerCondition::Success
                    if target.is_essential() =>
                {
                    r.violation(
                        dep_path.key("condition"),
                        ViolationKind::ConditionOnEssential {
                            condition: dep.condition.as_str(),
                            name: dep.container_name.clone(),
                        },
                    )
                }
                _ => {}
            }
        }
        for (j, vf) in c.volumes_from().iter().enumerate() {
            container_ref(
                r,
                &index,
                path.key("volumesFrom").index(j).key("sourceContainer"),
                me,
                vf.source_container.as_deref(),
            );
        }
        for (j, mp) in c.mount_points().iter().enumerate() {
            let mp_path = path.key("mountPoints").index(j).key("sourceVolume");
            if let Some(name) = r.required(mp_path.clone(), mp.source_volume.as_deref())
                && !volumes.contains(name)
            {
                r.violation(
                    mp_path,
                    ViolationKind::UnknownVolume {
                        name: name.to_owned(),
                    },
                );
            }
        }
    }
    if let Some(proxy) = &td.proxy_configuration {
        let path = root.key("proxyConfiguration").key("containerName");
        if let Some(name) = r.required(path.clone(), Some(&proxy.container_name))
            && !index.contains_key(name)
        {
            r.violation(
                path,
                ViolationKind::UnknownContainer {
                    name: name.to_owned(),
                },
            );
        }
    }
    host_ports(td, &containers, mode, r);
    cycles(td, &containers, &index, r);
}

/// A reference from container `me` to another container. Returns the target's index.
fn container_ref(
    r: &mut Report,
    index: &HashMap<&str, usize>,
    path: JsonPath,
    me: &str,
    target: Option<&str>,
) -> Option<usize> {
    let target = r.required(path.clone(), target)?;
    if target == me {
        r.violation(
            path,
            ViolationKind::SelfReference {
                name: target.to_owned(),
            },
        );
        return None;
    }
    match index.get(target) {
        Some(&i) => Some(i),
        None => {
            r.violation(
                path,
                ViolationKind::UnknownContainer {
                    name: target.to_owned(),
                },
            );
            None
        }
    }
}

/// A fixed host port can be bound once per protocol. Dynamic ports (0 or absent in bridge
/// mode) never clash; in host and awsvpc modes the container port is the host port.
fn host_ports(td: &TaskDefinition, containers: &JsonPath, mode: NetworkMode, r: &mut Report) {
    let mut claimed: HashMap<(i32, &'static str), JsonPath> = HashMap::new();
    for (i, c) in td.containers().iter().enumerate() {
        for (j, pm) in c.port_mappings().iter().enumerate() {
            let (port, key) = match mode {
                NetworkMode::Bridge => match pm.host_port {
                    Some(p) if p > 0 => (p, "hostPort"),
                    _ => continue,
                },
                NetworkMode::Host | NetworkMode::Awsvpc => {
                    match pm.host_port.filter(|p| *p > 0).or(pm.container_port) {
                        Some(p) if p > 0 => (
                            p,
                            if pm.host_port.is_some() {
                                "hostPort"
                            } else {
                                "containerPort"
                            },
                        ),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let path = containers.index(i).key("portMappings").index(j).key(key);
            let protocol = pm.protocol().as_str();
            if let Some(first) = claimed.get(&(port, protocol)) {
                r.violation(
                    path,
                    ViolationKind::DuplicateHostPort {
                        port,
                        protocol,
                        first: first.clone(),
                    },
                );
            } else {
                claimed.insert((port, protocol), path);
            }
        }
    }
}

/// Reports each dependency cycle once, at the `dependsOn` of the container where the
/// search first closed it.
fn cycles(
    td: &TaskDefinition,
    containers: &JsonPath,
    index: &HashMap<&str, usize>,
    r: &mut Report,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let list = td.containers();
    // Too many containers is reported already; keep the search's recursion shallow.
    if list.len() > super::task::MAX_CONTAINERS {
        return;
    }
    // Self-references are reported already, not as cycles.
    let edges: Vec<Vec<usize>> = list
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.depends_on()
                .iter()
                .filter_map(|d| index.get(d.container_name.as_str()).copied())
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let mut mark = vec![Mark::New; list.len()];
    let mut stack: Vec<usize> = Vec::new();

    fn visit(
        n: usize,
        edges: &[Vec<usize>],
        mark: &mut [Mark],
        stack: &mut Vec<usize>,
        found: &mut Vec<Vec<usize>>,
    ) {
        mark[n] = Mark::OnStack;
        stack.push(n);
        for &m in &edges[n] {
            match mark[m] {
                Mark::New => visit(m, edges, mark, stack, found),
                Mark::OnStack => {
                    let start = stack.iter().position(|&s| s == m).unwrap_or(0);
                    found.push(stack[start..].to_vec());
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        mark[n] = Mark::Done;
    }

    let mut found = Vec::new();
    for n in 0..list.len() {
        if mark[n] == Mark::New {
            visit(n, &edges, &mut mark, &mut stack, &mut found);
        }
    }
    for cycle in found {
        let Some(&last) = cycle.last() else { continue };
        let mut names: Vec<String> = cycle.iter().map(|&i| list[i].name().to_owned()).collect();
        names.push(names[0].clone());
        r.violation(
            containers.index(last).key("dependsOn"),
            ViolationKind::DependencyCycle { cycle: names },
        );
    }
}
