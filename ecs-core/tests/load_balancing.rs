//! Load balancing: the built-in TCP load balancer, and services registering their tasks
//! with a load balancer (the fake one of `support::fake_lb`), draining them before they
//! stop and deregistering every task that stops.
//!
//! One test binary; each theme is a module in `load_balancing/`.

mod support;

#[path = "load_balancing/deregistration.rs"]
mod deregistration;
#[path = "load_balancing/services.rs"]
mod services;
#[path = "load_balancing/tcp_load_balancer.rs"]
mod tcp_load_balancer;
