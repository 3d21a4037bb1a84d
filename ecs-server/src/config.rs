//! What a server is told: where it listens, who may call it, how big a request may be.

use std::net::SocketAddr;
use std::sync::Arc;

use ecs_core::cluster::Resources;
use ecs_core::runtime::ContainerRuntime;

/// An access key the server accepts: requests signed with it (AWS Signature Version 4)
/// are authentic.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AKIA...`), which callers send in the clear.
    pub access_key_id: String,
    /// The secret key, 40 characters as AWS's are ([`SECRET_KEY_LEN`]). Never
    /// logged: `Debug` prints it redacted.
    pub secret_access_key: String,
}

impl Credentials {
    /// An access key id and its secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Every request must carry a valid SigV4 signature by one of these keys, made for
    /// the control plane's region (its [`ArnScope`](ecs_core::ArnScope)) and the operation's service (`ecs`,
    /// `application-autoscaling`), within 15 minutes of the server's clock.
    SigV4(Vec<Credentials>),
    /// No checking at all: any caller may do anything. Only when asked for, for a
    /// server that only trusted callers can reach.
    Disabled,
}

/// What RegisterContainerInstance registers when the request does not say what the
/// instance offers (`totalResources`).
#[derive(Clone)]
#[non_exhaustive]
pub enum InstanceSource {
    /// A simulated host: the in-memory runtime with these resources. Its containers
    /// run nothing; they are useful to try the API and to test programs against it.
    Simulated(Resources),
    /// A real container engine (the one this machine runs), shared by every instance
    /// registered this way.
    Engine(Arc<dyn ContainerRuntime>),
}

impl std::fmt::Debug for InstanceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceSource::Simulated(r) => f.debug_tuple("Simulated").field(r).finish(),
            InstanceSource::Engine(rt) => f.debug_tuple("Engine").field(&rt.name()).finish(),
        }
    }
}

/// A server's configuration. [`ServerConfig::default`] listens on `127.0.0.1:8080`
/// and checks signatures by one well-known access key ([`DEFAULT_ACCESS_KEY`],
/// [`DEFAULT_SECRET_KEY`]), which is no secret: configure keys of your own for a
/// server others can reach.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where it listens; loopback unless told otherwise.
    pub listen: SocketAddr,
    /// How callers are authenticated.
    pub auth: Auth,
    /// The largest request body accepted, in bytes (ECS's largest requests, a task
    /// definition of 64 KiB, fit well).
    pub max_body_bytes: usize,
    /// The deepest nesting of JSON arrays and objects accepted in a request.
    pub max_json_depth: usize,
    /// What RegisterContainerInstance registers when the request gives no resources.
    pub instances: InstanceSource,
    /// HTTPS with this certificate; plain HTTP when `None`.
    pub tls: Option<crate::tls::TlsConfig>,
    /// `GET /metrics` renders this recorder's metrics (the control plane's among them)
    /// in Prometheus' text format; no `/metrics` when `None`. Scrapers do not sign
    /// their requests: `/metrics` is not authenticated (it shows counts, no secret).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The access key id the default configuration accepts.
pub const DEFAULT_ACCESS_KEY: &str = "AKIDLOCALECSSERVER";
/// Its secret (40 characters, as AWS's secret keys are).
pub const DEFAULT_SECRET_KEY: &str = "local-ecs-server-secret-key-not-a-secret";

/// The length of a secret access key: AWS's are 40 characters, and the signature
/// crate derives signing keys from secrets of that length only.
pub const SECRET_KEY_LEN: usize = 40;

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            auth: Auth::SigV4(vec![Credentials::new(
                DEFAULT_ACCESS_KEY,
                DEFAULT_SECRET_KEY,
            )]),
            max_body_bytes: 1 << 20,
            max_json_depth: 32,
            instances: InstanceSource::Simulated(Resources::new(4096, 8192)),
            tls: None,
            metrics: None,
        }
    }
}

impl ServerConfig {
    /// Listening on `listen`.
    #[must_use]
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Authenticating callers by `auth`.
    #[must_use]
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Serving `/metrics` from this Prometheus recorder (installed by the program).
    #[must_use]
    pub fn with_metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Serving HTTPS with this certificate.
    #[must_use]
    pub fn with_tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// RegisterContainerInstance without resources registers from `source`.
    #[must_use]
    pub fn with_instances(mut self, source: InstanceSource) -> Self {
        self.instances = source;
        self
    }
}

impl ServerConfig {
    /// Refuses what cannot work: secrets of another length than AWS's, an access key
    /// id given twice.
    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        let Auth::SigV4(keys) = &self.auth else {
            return Ok(());
        };
        if keys.is_empty() {
            return Err(crate::Error::Config(
                "SigV4 authentication needs at least one access key (or Auth::Disabled)".into(),
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if k.secret_access_key.len() != SECRET_KEY_LEN {
                return Err(crate::Error::Config(format!(
                    "the secret of access key {} is {} characters long; AWS's secret keys, \
                     and this server's, are {SECRET_KEY_LEN}",
                    k.access_key_id,
                    k.secret_access_key.len()
                )));
            }
            if keys[..i].iter().any(|o| o.access_key_id == k.access_key_id) {
                return Err(crate::Error::Config(format!(
                    "access key {} is given twice",
                    k.access_key_id
                )));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("auth", &self.auth)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_json_depth", &self.max_json_depth)
            .field("instances", &self.instances)
            .field("tls", &self.tls)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}
