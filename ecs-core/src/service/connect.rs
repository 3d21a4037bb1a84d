//! Service Connect (`serviceConnectConfiguration`): a service's tasks reachable by DNS
//! names from the other Service Connect tasks of its namespace, as ECS's Service Connect
//! makes them.
//!
//! ECS puts a proxy in every task and resolves a client alias to it; here each namespace
//! is an engine network with DNS (Docker's embedded server, Podman's aardvark-dns): every
//! container of a task whose service has Service Connect enabled joins it instead of the
//! engine's default bridge, and the container serving a `portName` answers there to its
//! client alias's `dnsName`. What follows from having no proxy:
//! - a client alias's `port` must be the named port mapping's `containerPort` (the name
//!   reaches the container itself), and `ingressPortOverride`, `tls` and `timeout` are
//!   refused or ignored (no proxy to configure);
//! - a namespace is one network per engine: names resolve to the tasks on the same
//!   container instance's engine (tasks on other instances are not reached by name);
//! - the namespace defaults to the cluster's name (ECS takes the cluster's
//!   `serviceConnectDefaults`, which clusters here do not have).
//!
//! As in ECS, only services' tasks take part (RunTask's do not). `timeout` and
//! `logConfiguration` (the proxy's) are read and ignored; `Service` shows the
//! configuration at its top level besides its deployments', and `Task` its
//! `serviceConnect` place (this library's additions to ECS's shapes).
//!
//! ```
//! use ecs_core::service::{ServiceConnectConfiguration, ServiceConnectService};
//!
//! let server = ServiceConnectConfiguration::client("shop")
//!     .with_service(ServiceConnectService::new("http").with_client_alias(8080, "web"));
//! assert_eq!(server.namespace.as_deref(), Some("shop"));
//! let json = serde_json::to_value(&server).unwrap();
//! assert_eq!(json["services"][0]["clientAliases"][0]["dnsName"], "web");
//! ```

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::task_definition::{NetworkMode, TaskDefinition};

/// ECS's `ServiceConnectConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceConnectConfiguration {
    /// Whether the service's tasks take part.
    pub enabled: bool,
    /// The namespace's name or Cloud Map ARN (its last part names it); the cluster's
    /// name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What the service offers to the namespace; none for a client-only service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConnectService>,
}

/// ECS's `ServiceConnectService`: one named port of the task definition, offered to the
/// namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceConnectService {
    /// The `name` of a port mapping of the task definition.
    pub port_name: String,
    /// Its name in the namespace; `portName` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// How clients reach it: exactly one alias.
    #[serde(default)]
    pub client_aliases: Vec<ServiceConnectClientAlias>,
    /// The proxy's port in ECS; refused here (there is no proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_port_override: Option<u16>,
    /// The proxy's TLS in ECS; refused here rather than ignored (traffic would go in
    /// clear where TLS was asked for). Kept as given, to be named in the refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Value>,
}

/// ECS's `ServiceConnectClientAlias`: the name and port clients use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceConnectClientAlias {
    /// The port clients connect to: here, the named port mapping's `containerPort`.
    pub port: u16,
    /// The name clients resolve; `DISCOVERYNAME.NAMESPACE` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
}

impl ServiceConnectConfiguration {
    /// Enabled, in `namespace`, offering nothing (a client of the namespace's services).
    pub fn client(namespace: impl Into<String>) -> Self {
        Self {
            enabled: true,
            namespace: Some(namespace.into()),
            services: Vec::new(),
        }
    }

    /// Offering `service` too.
    pub fn with_service(mut self, service: ServiceConnectService) -> Self {
        self.services.push(service);
        self
    }
}

impl ServiceConnectService {
    /// The port mapping named `port_name`, under its own name, with no alias yet (add
    /// one with [`with_client_alias`](Self::with_client_alias)).
    pub fn new(port_name: impl Into<String>) -> Self {
        Self {
            port_name: port_name.into(),
            discovery_name: None,
            client_aliases: Vec::new(),
            ingress_port_override: None,
            tls: None,
        }
    }

    /// Reached by clients at `dns_name:port`.
    pub fn with_client_alias(mut self, port: u16, dns_name: impl Into<String>) -> Self {
        self.client_aliases.push(ServiceConnectClientAlias {
            port,
            dns_name: Some(dns_name.into()),
        });
        self
    }
}

/// What a task of a Service Connect service is given: its namespace and the names its
/// containers answer to there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskServiceConnect {
    /// The namespace's name.
    pub namespace: String,
    /// The engine network of the namespace, which every container of the task joins.
    pub network: String,
    /// The names the task's containers answer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<ServiceConnectEndpoint>,
}

/// One name a task answers to in its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceConnectEndpoint {
    /// The client alias's DNS name.
    pub dns_name: String,
    /// Its port (the container's).
    pub port: u16,
    /// The discovery name it is offered under.
    pub discovery_name: String,
    /// The container that serves it.
    pub container_name: String,
}

impl TaskServiceConnect {
    /// The DNS names the container `container` answers to.
    pub fn aliases_of(&self, container: &str) -> Vec<String> {
        self.endpoints
            .iter()
            .filter(|e| e.container_name == container)
            .map(|e| e.dns_name.clone())
            .collect()
    }
}

/// The engine network of `namespace`: `ecs-sc-NAME`, with what engines refuse in a
/// network's name replaced, and a hash of the namespace when anything was (two
/// namespaces never share a network).
pub fn network_name(namespace: &str) -> String {
    let clean: String = namespace
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if clean == namespace {
        format!("ecs-sc-{clean}")
    } else {
        // FNV-1a: stable across releases (a std hasher is not), so a restarted control
        // plane finds its networks.
        let hash = namespace.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("ecs-sc-{clean}-{hash:016x}")
    }
}

impl ServiceConnectService {
    /// Its name in the namespace: `discoveryName`, else `portName`.
    fn discovery(&self) -> String {
        self.discovery_name
            .clone()
            .unwrap_or_else(|| self.port_name.clone())
    }
}

impl ServiceConnectClientAlias {
    /// The name clients resolve: `dnsName`, else the default of `discovery` in
    /// `namespace`.
    fn dns_name_in(&self, discovery: &str, namespace: &str) -> String {
        self.dns_name
            .clone()
            .unwrap_or_else(|| default_dns_name(discovery, namespace))
    }
}

/// A client alias's name when it gives none: `DISCOVERYNAME.NAMESPACE`, in lowercase (a
/// namespace named after a cluster may have capitals; DNS ignores case).
fn default_dns_name(discovery: &str, namespace: &str) -> String {
    format!("{discovery}.{namespace}").to_ascii_lowercase()
}

/// What a namespace's member name may be: up to `max` characters of lowercase letters,
/// digits, `_`, `-` (and `.` where `dots`), not starting with a hyphen.
fn check_name(what: &str, name: &str, max: usize, dots: bool) -> Result<(), String> {
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-') || (dots && c == '.')
    };
    if name.is_empty() || name.len() > max {
        return Err(format!("{what} {name:?} must have 1 to {max} characters"));
    }
    if name.starts_with('-') {
        return Err(format!("{what} {name:?} must not start with a hyphen"));
    }
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{what} {name:?} has {c:?}: only lowercase letters, digits, '_', '-'{} are allowed",
            if dots { ", '.'" } else { "" }
        ));
    }
    Ok(())
}

impl ServiceConnectConfiguration {
    /// The namespace's name: the configuration's (the last part of an ARN), else
    /// `cluster`.
    pub fn namespace_name(&self, cluster: &str) -> String {
        match self.namespace.as_deref() {
            Some(ns) if ns.starts_with("arn:") => {
                ns.rsplit_once('/').map_or(ns, |(_, n)| n).to_owned()
            }
            Some(ns) => ns.to_owned(),
            None => cluster.to_owned(),
        }
    }

    /// The discovery names and DNS names it offers, with ECS's defaults, when enabled
    /// (for the check that no two services of a namespace offer the same).
    pub(crate) fn offered(&self, cluster: &str) -> Vec<(String, String)> {
        if !self.enabled {
            return Vec::new();
        }
        let namespace = self.namespace_name(cluster);
        self.services
            .iter()
            .map(|s| {
                let discovery = s.discovery();
                let dns = s.client_aliases.first().map_or_else(
                    || default_dns_name(&discovery, &namespace),
                    |a| a.dns_name_in(&discovery, &namespace),
                );
                (discovery, dns)
            })
            .collect()
    }

    /// What a task of `td` in `cluster` is given, checked as ECS checks it (and for
    /// what having no proxy rules out); `None` when Service Connect is off. Errors name
    /// the member: `serviceConnectConfiguration.services[0].portName: ...`.
    pub fn for_task(
        &self,
        td: &TaskDefinition,
        cluster: &str,
    ) -> Result<Option<TaskServiceConnect>, Error> {
        if !self.enabled {
            return Ok(None);
        }
        let bad = |member: &str, why: String| {
            Error::InvalidService(format!("serviceConnectConfiguration{member}: {why}"))
        };
        let namespace = self.namespace_name(cluster);
        if namespace.is_empty()
            || namespace.len() > 1024
            || namespace.contains(['<', '>', '"', '/'])
        {
            return Err(bad(
                ".namespace",
                format!(
                    "{namespace:?} must have 1 to 1024 characters, none of '<', '>', '\"', '/'"
                ),
            ));
        }
        match td.effective_network_mode() {
            NetworkMode::Bridge | NetworkMode::Awsvpc => {}
            other => {
                return Err(bad(
                    "",
                    format!(
                        "task definition {} uses networkMode {}; Service Connect needs bridge or awsvpc",
                        td.family(),
                        other
                    ),
                ));
            }
        }
        let mut endpoints: Vec<ServiceConnectEndpoint> = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            let at = |member: &str| format!(".services[{i}]{member}");
            let found = td.containers().iter().find_map(|c| {
                c.port_mappings()
                    .iter()
                    .find(|pm| pm.name.as_deref() == Some(s.port_name.as_str()))
                    .map(|pm| (c.name(), pm.container_port))
            });
            let Some((container, container_port)) = found else {
                return Err(bad(
                    &at(".portName"),
                    format!(
                        "no port mapping of task definition {} is named {:?}",
                        td.family(),
                        s.port_name
                    ),
                ));
            };
            let discovery = s.discovery();
            check_name("discoveryName", &discovery, 64, false)
                .map_err(|why| bad(&at(".discoveryName"), why))?;
            if s.ingress_port_override.is_some() {
                return Err(bad(
                    &at(".ingressPortOverride"),
                    "sets a proxy's port; tasks here have no proxy (clients reach the container itself)".into(),
                ));
            }
            if s.tls.is_some() {
                return Err(bad(
                    &at(".tls"),
                    "configures a proxy's TLS; tasks here have no proxy, and traffic would go in clear".into(),
                ));
            }
            let [alias] = s.client_aliases.as_slice() else {
                return Err(bad(
                    &at(".clientAliases"),
                    format!(
                        "has {} aliases; ECS takes exactly one",
                        s.client_aliases.len()
                    ),
                ));
            };
            let container_port = container_port.and_then(|p| u16::try_from(p).ok());
            if Some(alias.port) != container_port || alias.port == 0 {
                return Err(bad(
                    &at(".clientAliases[0].port"),
                    format!(
                        "{} is not port mapping {:?}'s containerPort ({}): with no proxy, clients reach the container on its own port",
                        alias.port,
                        s.port_name,
                        container_port.map_or("none".to_owned(), |p| p.to_string())
                    ),
                ));
            }
            let dns_name = alias.dns_name_in(&discovery, &namespace);
            check_name("dnsName", &dns_name, 127, true).map_err(|why| {
                let why = if alias.dns_name.is_none() {
                    format!("{why} (the default, DISCOVERYNAME.NAMESPACE: set one)")
                } else {
                    why
                };
                bad(&at(".clientAliases[0].dnsName"), why)
            })?;
            if endpoints.iter().any(|e| e.discovery_name == discovery) {
                return Err(bad(
                    &at(".discoveryName"),
                    format!("{discovery:?} is offered twice"),
                ));
            }
            if endpoints.iter().any(|e| e.dns_name == dns_name) {
                return Err(bad(
                    &at(".clientAliases[0].dnsName"),
                    format!("{dns_name:?} is used twice"),
                ));
            }
            endpoints.push(ServiceConnectEndpoint {
                dns_name,
                port: alias.port,
                discovery_name: discovery,
                container_name: container.to_owned(),
            });
        }
        Ok(Some(TaskServiceConnect {
            network: network_name(&namespace),
            namespace,
            endpoints,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(json: &str) -> TaskDefinition {
        TaskDefinition::from_json(json).unwrap().definition
    }

    fn web() -> TaskDefinition {
        td(r#"{"family": "web", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 64,
             "portMappings": [{"containerPort": 8080, "name": "http"}]},
            {"name": "side", "image": "busybox", "memory": 64}]}"#)
    }

    #[test]
    fn a_server_answers_to_its_alias_on_the_container_of_its_port() {
        let c = ServiceConnectConfiguration::client("shop")
            .with_service(ServiceConnectService::new("http").with_client_alias(8080, "web"));
        let t = c.for_task(&web(), "dev").unwrap().unwrap();
        assert_eq!(t.namespace, "shop");
        assert_eq!(t.network, "ecs-sc-shop");
        assert_eq!(t.aliases_of("app"), vec!["web".to_owned()]);
        assert!(t.aliases_of("side").is_empty());
    }

    #[test]
    fn names_default_as_ecs_defaults_them() {
        let mut c = ServiceConnectConfiguration::client("x")
            .with_service(ServiceConnectService::new("http"));
        c.namespace = None;
        c.services[0]
            .client_aliases
            .push(ServiceConnectClientAlias {
                port: 8080,
                dns_name: None,
            });
        let t = c.for_task(&web(), "Dev").unwrap().unwrap();
        assert_eq!(t.namespace, "Dev");
        assert_eq!(t.endpoints[0].discovery_name, "http");
        assert_eq!(t.endpoints[0].dns_name, "http.dev");
    }

    #[test]
    fn a_disabled_configuration_gives_nothing() {
        let mut c = ServiceConnectConfiguration::client("x");
        c.enabled = false;
        assert_eq!(c.for_task(&web(), "dev").unwrap(), None);
    }

    #[test]
    fn what_ecs_or_the_missing_proxy_refuses_is_named() {
        let cases = [
            (
                ServiceConnectService::new("nope").with_client_alias(8080, "web"),
                ".services[0].portName",
            ),
            (
                ServiceConnectService::new("http").with_client_alias(80, "web"),
                ".services[0].clientAliases[0].port",
            ),
            (
                ServiceConnectService::new("http").with_client_alias(8080, "Web"),
                ".services[0].clientAliases[0].dnsName",
            ),
            (
                ServiceConnectService::new("http"),
                ".services[0].clientAliases",
            ),
        ];
        for (service, member) in cases {
            let c = ServiceConnectConfiguration::client("shop").with_service(service);
            let e = c.for_task(&web(), "dev").unwrap_err().to_string();
            assert!(
                e.contains(&format!("serviceConnectConfiguration{member}:")),
                "{e}"
            );
        }
        let mut c = ServiceConnectConfiguration::client("shop")
            .with_service(ServiceConnectService::new("http").with_client_alias(8080, "web"));
        c.services[0].ingress_port_override = Some(9000);
        assert!(c.for_task(&web(), "dev").is_err());
        c.services[0].ingress_port_override = None;
        c.services[0].tls = Some(serde_json::json!({"issuerCertificateAuthority": {}}));
        let e = c.for_task(&web(), "dev").unwrap_err().to_string();
        assert!(e.contains(".services[0].tls:"), "{e}");
        let host = td(
            r#"{"family": "h", "networkMode": "host", "containerDefinitions": [
            {"name": "app", "image": "busybox", "memory": 64}]}"#,
        );
        let e = ServiceConnectConfiguration::client("shop")
            .for_task(&host, "dev")
            .unwrap_err();
        assert!(e.to_string().contains("networkMode host"), "{e}");
    }

    #[test]
    fn the_aws_clis_input_is_read() {
        let r = crate::service::CreateService::from_json(
            r#"{"cluster": "dev", "serviceName": "web", "taskDefinition": "web",
                "desiredCount": 1,
                "serviceConnectConfiguration": {"enabled": true, "namespace": "shop",
                  "services": [{"portName": "http", "discoveryName": "web-http",
                    "clientAliases": [{"port": 8080, "dnsName": "web"}]}],
                  "logConfiguration": {"logDriver": "awslogs"}}}"#,
        )
        .unwrap();
        let c = r.service_connect_configuration.unwrap();
        let t = c.for_task(&web(), "dev").unwrap().unwrap();
        assert_eq!(t.endpoints[0].discovery_name, "web-http");
        assert_eq!(t.endpoints[0].dns_name, "web");
    }

    #[test]
    fn a_namespace_arn_names_it_by_its_last_part() {
        let c = ServiceConnectConfiguration::client(
            "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abc",
        );
        assert_eq!(c.namespace_name("dev"), "ns-abc");
    }

    #[test]
    fn network_names_are_what_engines_accept_and_distinct() {
        assert_eq!(network_name("shop"), "ecs-sc-shop");
        let a = network_name("my shop");
        let b = network_name("my:shop");
        assert_ne!(a, b);
        assert!(a.starts_with("ecs-sc-my-shop-"), "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        );
    }
}
