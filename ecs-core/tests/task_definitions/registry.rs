//! The task definition registry: revisions, describe by every form of reference, list,
//! deregister, and nothing stored when registering fails.

use ecs_core::task_definition::{ContainerDefinition, TaskDefinition, TaskDefinitionStatus};
use ecs_core::{Error, Family, ResourceKind, TaskDefinitionRef, TaskDefinitionRegistry};

fn def(family: &str, image: &str) -> TaskDefinition {
    TaskDefinition::new(
        family,
        [ContainerDefinition::new("app", image).with_memory(64)],
    )
}

fn r(text: &str) -> TaskDefinitionRef {
    text.parse().unwrap()
}

#[test]
fn revisions_count_up_per_family() {
    let mut reg = TaskDefinitionRegistry::new();
    assert_eq!(
        reg.register(def("web", "nginx:1")).unwrap().reference,
        r("web:1")
    );
    assert_eq!(
        reg.register(def("web", "nginx:2")).unwrap().reference,
        r("web:2")
    );
    assert_eq!(reg.register(def("db", "pg")).unwrap().reference, r("db:1"));

    let web2 = reg.describe(&r("web:2")).unwrap();
    assert_eq!(web2.revision, Some(2));
    assert_eq!(web2.status, Some(TaskDefinitionStatus::Active));
    assert_eq!(
        web2.task_definition_arn.as_deref(),
        Some("arn:aws:ecs:local:000000000000:task-definition/web:2")
    );
    assert!(web2.registered_at.is_some());
    assert_eq!(
        reg.describe(&r("web")).unwrap().containers()[0]
            .image
            .as_deref(),
        Some("nginx:2")
    );
    assert_eq!(
        reg.describe(&r("arn:aws:ecs:local:000000000000:task-definition/web:1"))
            .unwrap()
            .revision,
        Some(1)
    );
}

#[test]
fn describe_output_registers_as_a_new_revision() {
    let mut reg = TaskDefinitionRegistry::new();
    let mut d = def("copied", "busybox");
    d.revision = Some(42);
    d.status = Some(TaskDefinitionStatus::Inactive);
    d.task_definition_arn = Some("arn:aws:ecs:us-east-1:1:task-definition/copied:42".into());
    let registered = reg.register(d).unwrap();
    assert_eq!(registered.reference, r("copied:1"));
    assert_eq!(registered.definition.revision, Some(1));
    assert_eq!(
        registered.definition.status,
        Some(TaskDefinitionStatus::Active)
    );
    assert_eq!(registered.warnings.len(), 3, "{:?}", registered.warnings);
}

#[test]
fn invalid_definitions_store_nothing() {
    let mut reg = TaskDefinitionRegistry::new();
    let bad = TaskDefinition::new("web", [ContainerDefinition::new("app", "")]);
    assert!(matches!(reg.register(bad), Err(Error::Invalid(_))));
    assert!(reg.list_families(None).is_empty());
    // The failed attempt used no revision number.
    assert_eq!(
        reg.register(def("web", "nginx")).unwrap().reference,
        r("web:1")
    );
}

#[test]
fn deregistered_revisions_stay_describable_but_not_usable() {
    let mut reg = TaskDefinitionRegistry::new();
    reg.register(def("web", "nginx:1")).unwrap();
    reg.register(def("web", "nginx:2")).unwrap();

    let gone = reg.deregister(&r("web:2")).unwrap();
    assert_eq!(gone.status, Some(TaskDefinitionStatus::Inactive));
    assert!(gone.deregistered_at.is_some());
    // Deregistering again changes nothing.
    let at = reg.describe(&r("web:2")).unwrap().deregistered_at;
    assert_eq!(reg.deregister(&r("web:2")).unwrap().deregistered_at, at);

    assert_eq!(
        reg.describe(&r("web:2")).unwrap().status,
        Some(TaskDefinitionStatus::Inactive)
    );
    assert!(matches!(
        reg.resolve_active(&r("web:2")),
        Err(Error::TaskDefinitionInactive(ref s)) if s == "web:2"
    ));
    // The family now means its latest ACTIVE revision.
    assert_eq!(reg.describe(&r("web")).unwrap().revision, Some(1));
    assert_eq!(reg.resolve_active(&r("web")).unwrap().revision, Some(1));

    // Revision numbers are never reused.
    assert_eq!(
        reg.register(def("web", "nginx:3")).unwrap().reference,
        r("web:3")
    );

    reg.deregister(&r("web:1")).unwrap();
    reg.deregister(&r("web:3")).unwrap();
    assert!(matches!(
        reg.describe(&r("web")),
        Err(Error::NotFound {
            kind: ResourceKind::TaskDefinition,
            ..
        })
    ));
    assert!(matches!(
        reg.deregister(&r("web")),
        Err(Error::InvalidId { .. })
    ));
}

#[test]
fn listing_families_and_revisions() {
    let mut reg = TaskDefinitionRegistry::new();
    for family in ["web", "db", "web", "cache"] {
        reg.register(def(family, "x")).unwrap();
    }
    reg.deregister(&r("cache:1")).unwrap();
    let names = |list: Vec<&Family>| list.iter().map(|f| f.to_string()).collect::<Vec<_>>();
    assert_eq!(names(reg.list_families(None)), ["cache", "db", "web"]);
    assert_eq!(
        names(reg.list_families(Some(TaskDefinitionStatus::Active))),
        ["db", "web"]
    );
    assert_eq!(
        names(reg.list_families(Some(TaskDefinitionStatus::Inactive))),
        ["cache"]
    );

    let web: Family = "web".parse().unwrap();
    assert_eq!(reg.list_revisions(&web, None), [r("web:1"), r("web:2")]);
    reg.deregister(&r("web:1")).unwrap();
    assert_eq!(
        reg.list_revisions(&web, Some(TaskDefinitionStatus::Active)),
        [r("web:2")]
    );
    assert!(
        reg.list_revisions(&"nope".parse().unwrap(), None)
            .is_empty()
    );
}

#[test]
fn unknown_references_are_not_found() {
    let mut reg = TaskDefinitionRegistry::new();
    reg.register(def("web", "x")).unwrap();
    for missing in ["web:2", "other", "other:1"] {
        match reg.describe(&r(missing)) {
            Err(
                e @ Error::NotFound {
                    kind: ResourceKind::TaskDefinition,
                    ..
                },
            ) => {
                assert_eq!(
                    e.to_string(),
                    format!("task definition {missing} not found")
                )
            }
            other => panic!("{missing}: {other:?}"),
        }
    }
}
