//! The Podman backend of the embeddable ECS.
//!
//! Not implemented yet: this crate reserves its place in the workspace. The container
//! runtime trait it will implement is defined in `ecs-core`; the backend itself lands
//! with the issue "Docker and Podman backends on real engines".
