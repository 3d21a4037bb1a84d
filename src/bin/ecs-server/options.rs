//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use ecs::server::{Auth, Credentials, ServerConfig, TlsConfig};

pub(crate) const USAGE: &str = "usage: ecs-server [--listen ADDR] [--data DIR] [--region REGION] \
                     [--access-key ID (--secret-key SECRET | --secret-key-env VAR) | --no-auth] \
                     [--tls-cert CHAIN.pem --tls-key KEY.pem] \
                     [--local-instances MAX] [--instance-images IMAGE,...] \
                     [--etcd URL,... [--etcd-root PREFIX] [--node NAME] [--lease-ttl SECONDS]]";

/// What the command line asks for.
pub(crate) struct Options {
    pub(crate) listen: SocketAddr,
    pub(crate) data: PathBuf,
    pub(crate) region: String,
    pub(crate) auth: Auth,
    pub(crate) tls: Option<TlsConfig>,
    /// The instance group `local`'s maximum size.
    pub(crate) local_instances: u32,
    /// Images copied into each of its instances.
    pub(crate) instance_images: Vec<String>,
    /// etcd's client URLs: the state on etcd, this process one of several control
    /// planes of which one leads (`None`: a file store under `data`, alone).
    pub(crate) etcd: Option<Vec<String>>,
    /// The key prefix of the state on etcd, shared by the control planes.
    pub(crate) etcd_root: String,
    /// This process's name in the election (what `leader` reports).
    pub(crate) node: Option<String>,
    /// The leadership lease's time to live: a dead leader's successor leads within it.
    pub(crate) lease_ttl: std::time::Duration,
}

pub(crate) fn options() -> Result<Options, String> {
    let mut o = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        data: PathBuf::from("ecs-data"),
        region: "us-east-1".to_owned(),
        auth: ServerConfig::default().auth,
        tls: None,
        local_instances: 4,
        instance_images: Vec::new(),
        etcd: None,
        etcd_root: "ecs".to_owned(),
        node: None,
        lease_ttl: std::time::Duration::from_secs(5),
    };
    let (mut key, mut secret, mut no_auth) = (None, None, false);
    let (mut cert, mut cert_key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--listen" => {
                let v = value()?;
                o.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--data" => o.data = PathBuf::from(value()?),
            "--region" => o.region = value()?,
            "--access-key" => key = Some(value()?),
            "--secret-key" => secret = Some(value()?),
            "--secret-key-env" => {
                // A secret on the command line shows in `ps`: read it from a variable.
                let var = value()?;
                secret = Some(
                    std::env::var(&var)
                        .map_err(|_| format!("--secret-key-env: ${var} is not set"))?,
                );
            }
            "--no-auth" => no_auth = true,
            "--tls-cert" => cert = Some(PathBuf::from(value()?)),
            "--tls-key" => cert_key = Some(PathBuf::from(value()?)),
            "--local-instances" => {
                let v = value()?;
                o.local_instances = v
                    .parse()
                    .map_err(|e| format!("--local-instances {v}: {e}"))?;
            }
            "--instance-images" => {
                o.instance_images = value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--etcd" => {
                o.etcd = Some(
                    value()?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
            "--etcd-root" => o.etcd_root = value()?,
            "--node" => o.node = Some(value()?),
            "--lease-ttl" => {
                let v = value()?;
                let secs: u64 = v.parse().map_err(|e| format!("--lease-ttl {v}: {e}"))?;
                if secs < 2 {
                    return Err(format!("--lease-ttl {v}: at least 2 seconds"));
                }
                o.lease_ttl = std::time::Duration::from_secs(secs);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    match (key, secret, no_auth) {
        (None, None, true) => o.auth = Auth::Disabled,
        (Some(k), Some(s), false) => o.auth = Auth::SigV4(vec![Credentials::new(k, s)]),
        (None, None, false) => {}
        _ => {
            return Err(format!(
                "--access-key and --secret-key go together, and not with --no-auth\n{USAGE}"
            ));
        }
    }
    match (cert, cert_key) {
        (Some(c), Some(k)) => o.tls = Some(TlsConfig::new(c, k)),
        (None, None) => {}
        _ => return Err(format!("--tls-cert and --tls-key go together\n{USAGE}")),
    }
    Ok(o)
}
