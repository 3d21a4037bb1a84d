//! Unit-testing your code against the mockall mock of the runtime trait.
//!
//! ```text
//! cargo test --features mock --example mock_runtime
//! ```
//!
//! `MockContainerRuntime` (feature `mock`) sets exact expectations on the calls the
//! library makes to an engine: how often, with what, and what they answer. Use it when
//! the calls themselves are what you test; use `InMemoryRuntime` when you want an
//! engine that behaves.

use std::sync::Arc;

use ecs::cluster::Resources;
use ecs::control::{Ecs, EcsConfig, RegisterContainerInstance};
use ecs::runtime::{Capabilities, HostInfo, MockContainerRuntime, RuntimeError};

/// The code under test: registers this machine's engine as an instance of `cluster`.
async fn join_cluster(
    ecs: &Ecs,
    cluster: &str,
    engine: MockContainerRuntime,
) -> Result<Resources, ecs::Error> {
    let cluster = cluster.parse()?;
    ecs.create_cluster(Clone::clone(&cluster))?;
    ecs.register_container_instance(RegisterContainerInstance::new(
        cluster.clone(),
        "i-local".parse()?,
        Arc::new(engine),
    ))
    .await?;
    let state = ecs.describe_cluster(&cluster)?;
    Ok(state
        .instances()
        .next()
        .map(|i| i.registered_resources())
        .unwrap_or_default())
}

fn engine_answering(host: Result<HostInfo, RuntimeError>) -> MockContainerRuntime {
    let mut mock = MockContainerRuntime::new();
    mock.expect_name().return_const("mock".to_owned());
    mock.expect_capabilities().return_const(Capabilities::ALL);
    mock.expect_describe_host()
        .times(1)
        .return_once(move || host);
    mock.expect_events()
        .returning(|| Ok(Box::pin(futures::stream::pending())));
    mock
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ecs::Error> {
    let ecs = Ecs::new(EcsConfig::default());
    let engine = engine_answering(Ok(HostInfo::linux(Resources::new(2048, 4096), "mock 1")));
    let resources = join_cluster(&ecs, "dev", engine).await?;
    println!("joined with {resources}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn joining_registers_what_the_engine_reports() {
        let ecs = Ecs::new(EcsConfig::default());
        let engine = engine_answering(Ok(HostInfo::linux(Resources::new(2048, 4096), "mock 1")));
        assert_eq!(
            join_cluster(&ecs, "dev", engine).await.unwrap(),
            Resources::new(2048, 4096)
        );
    }

    #[tokio::test]
    async fn an_unreachable_engine_is_a_typed_error_and_registers_nothing() {
        let ecs = Ecs::new(EcsConfig::default());
        let engine = engine_answering(Err(RuntimeError::Unavailable("no socket".into())));
        let err = join_cluster(&ecs, "dev", engine).await.unwrap_err();
        assert!(
            matches!(
                err,
                ecs::Error::Runtime {
                    error: RuntimeError::Unavailable(_),
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            ecs.describe_cluster(&"dev".parse().unwrap())
                .unwrap()
                .is_empty()
        );
    }
}
