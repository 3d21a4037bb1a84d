//! Carrying a plan out.

use super::*;

/// Carries a plan out: stops first (they free room), then starts.
pub(super) fn act(
    ctx: &Context,
    key: &ServiceKey,
    service: &Service,
    decision: Plan,
    memory: &mut Memory,
) {
    let (ours, links) = {
        let s = ctx.state().lock();
        let ours = s
            .services
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.wake, &memory.me));
        (ours, lb::links_of(&s, service))
    };
    if !ours {
        // Deleted and created again meanwhile: the new service has its own controller.
        return;
    }
    let tag = service.tag();
    let mut messages = Vec::new();
    let mut stopped = Vec::new();
    let mut drained = Vec::new();
    for (task, reason) in &decision.stop {
        if *reason == StopReason::Unhealthy {
            memory.stopped_unhealthy.insert(task.clone());
            messages.push(format!(
                "{tag} (task {task}) failed container health checks."
            ));
        }
        let why = match reason {
            StopReason::Deployment => service.primary().map_or_else(
                || reason.message().to_owned(),
                |p| format!("Scaling activity initiated by (deployment {})", p.id),
            ),
            _ => reason.message().to_owned(),
        };
        // Behind a load balancer: drained first, stopped after.
        if let Some(targets) = memory.lb.registered.remove(task) {
            memory.lb.healthy.remove(task);
            memory.lb.draining.insert(task.clone());
            lb::drain_then_stop(
                &ctx.ops,
                key.clone(),
                links.clone(),
                task.clone(),
                targets,
                why,
                memory.me.clone(),
            );
            drained.push(task.clone());
            continue;
        }
        // A task that finished meanwhile needs no stop.
        if ctx
            .ops
            .request_stop(&key.0, task, StopCode::ServiceSchedulerInitiated, &why)
            .is_ok()
        {
            stopped.push(task.clone());
        }
    }
    if !drained.is_empty() {
        messages.push(format!(
            "{tag} has begun draining connections on {} tasks: {}.",
            drained.len(),
            task_list(&drained)
        ));
    }
    if !stopped.is_empty() {
        messages.push(format!(
            "{tag} has stopped {} running tasks: {}.",
            stopped.len(),
            task_list(&stopped)
        ));
    }

    let launches: Vec<(u32, Option<InstanceId>)> = match service.scheduling_strategy {
        SchedulingStrategy::Daemon => decision
            .start_on
            .into_iter()
            .map(|i| (1, Some(i)))
            .collect(),
        _ if decision.start > 0 => vec![(decision.start, None)],
        _ => Vec::new(),
    };
    let Some(primary) = service.primary() else {
        return;
    };
    let td = ctx
        .state()
        .lock()
        .registry
        .describe(&primary.task_definition)
        .cloned();
    let mut started = Vec::new();
    for (count, instance) in launches {
        let td = match &td {
            Ok(td) => td,
            Err(e) => {
                messages.push(format!("{tag} cannot start tasks: {e}."));
                break;
            }
        };
        let mut request = RunTask::new(key.0.clone(), primary.task_definition.clone(), count);
        request.group = Some(crate::ids::TaskGroup::Service(key.1.clone()));
        request.started_by = Some(primary.id.to_string());
        request.enable_execute_command = service.enable_execute_command;
        request.service_connect = match primary
            .service_connect_configuration
            .as_ref()
            .map(|c| c.for_task(td, key.0.as_str()))
            .transpose()
        {
            Ok(connect) => connect.flatten(),
            Err(e) => {
                messages.push(format!("{tag} cannot start tasks: {e}."));
                break;
            }
        };
        request.placement_strategy = service.placement_strategy.clone();
        request.placement_constraints = service.placement_constraints.clone();
        request.capacity_provider_strategy = service.capacity_provider_strategy.clone();
        // Its own strategy, or none: never the cluster's default of the moment (a
        // service took it, if any, when it was created).
        if request.capacity_provider_strategy.is_empty() {
            request.launch_type = Some(crate::task::LaunchType::Ec2);
        }
        let mut extra = Vec::new();
        if let Some(i) = &instance {
            match Constraint::member_of(&format!("ec2InstanceId == '{i}'")) {
                Ok(c) => extra.push(c),
                Err(_) => continue,
            }
        }
        let me = memory.me.clone();
        let deployment = primary.id.clone();
        let decided_for = service.desired_count;
        let still_wanted = move |s: &crate::state::Tables| {
            s.services.get(key).is_some_and(|e| {
                Arc::ptr_eq(&e.wake, &me)
                    && e.service.status == ServiceStatus::Active
                    && e.service.desired_count >= decided_for
                    && e.service.primary().is_some_and(|p| p.id == deployment)
            })
        };
        match ctx.ops.launch(request, td, extra, &still_wanted) {
            Ok(out) => {
                {
                    let mut s = ctx.state().lock();
                    if let Some(e) = s
                        .services
                        .get_mut(key)
                        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))
                    {
                        e.tasks.extend(out.tasks.iter().map(|t| t.task_id.clone()));
                    }
                }
                started.extend(out.tasks.into_iter().map(|t| t.task_id));
                if !out.failures.is_empty() {
                    let reasons: Vec<String> = out
                        .failures
                        .iter()
                        .map(|f| match &f.detail {
                            Some(d) => format!("{} ({d})", f.reason),
                            None => f.reason.clone(),
                        })
                        .collect();
                    let why = if reasons.is_empty() {
                        "No Container Instances were found in your cluster".to_owned()
                    } else {
                        reasons.join(", ")
                    };
                    messages.push(format!(
                        "{tag} was unable to place a task because no container instance met all of its requirements. Reasons: {why}."
                    ));
                }
            }
            Err(e) => messages.push(format!("{tag} was unable to place a task: {e}.")),
        }
    }
    if !started.is_empty() {
        messages.push(format!(
            "{tag} has started {} tasks: {}.",
            started.len(),
            task_list(&started)
        ));
    }
    let mut s = ctx.state().lock();
    if let Some(entry) = s
        .services
        .get_mut(key)
        .filter(|e| Arc::ptr_eq(&e.wake, &memory.me))
    {
        for m in messages {
            push_event(ctx.state(), key, entry, m);
        }
    }
}

pub(super) fn task_list(ids: &[TaskId]) -> String {
    ids.iter()
        .map(|t| format!("(task {t})"))
        .collect::<Vec<_>>()
        .join(" ")
}
