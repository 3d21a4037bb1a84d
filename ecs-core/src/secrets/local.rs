//! [`LocalSecrets`]: secrets and environment files read from a folder.

use std::path::{Component, Path, PathBuf};

use super::{SecretError, SecretProvider, SecretValue};

/// Secrets and environment files kept as files in a folder, named after what a task
/// definition references:
///
/// | reference | file |
/// |---|---|
/// | `arn:aws:secretsmanager:R:A:secret:NAME` (with or without Secrets Manager's `-XXXXXX` suffix) | `secretsmanager/NAME` |
/// | `...:secret:NAME:KEY::` (a JSON key) | `secretsmanager/NAME`, a JSON object |
/// | `arn:aws:ssm:R:A:parameter/NAME`, `NAME` or `/NAME` | `ssm/NAME` |
/// | `arn:aws:s3:::BUCKET/KEY` (an environment file) | `s3/BUCKET/KEY` |
///
/// A file's one trailing newline is not part of the value. References that would climb
/// out of the folder (`..`) are refused; symbolic links inside it are followed.
#[derive(Debug, Clone)]
pub struct LocalSecrets {
    root: PathBuf,
}

impl LocalSecrets {
    /// Secrets under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `root/kind/relative`, refusing anything but plain names.
    fn path(&self, reference: &str, kind: &str, relative: &str) -> Result<PathBuf, SecretError> {
        let relative = relative.trim_start_matches('/');
        let plain = !relative.is_empty()
            && Path::new(relative)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(SecretError::Invalid {
                reference: reference.to_owned(),
                reason: "not a plain name (empty, or climbing out of the secrets folder)"
                    .to_owned(),
            });
        }
        Ok(self.root.join(kind).join(relative))
    }

    async fn read(&self, reference: &str, path: &Path) -> Result<Option<String>, SecretError> {
        // What tokio's `fs` does, without its feature: a blocking read on the blocking
        // pool (read in place outside a Tokio runtime, where there is none).
        let owned = path.to_owned();
        let read = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(move || std::fs::read_to_string(owned))
                .await
                .map_err(|e| SecretError::Unavailable {
                    reference: reference.to_owned(),
                    reason: format!("reading {}: {e}", path.display()),
                })?,
            Err(_) => std::fs::read_to_string(owned),
        };
        match read {
            Ok(mut text) => {
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                Ok(Some(text))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretError::Unavailable {
                reference: reference.to_owned(),
                reason: format!("reading {}: {e}", path.display()),
            }),
        }
    }

    async fn secrets_manager(
        &self,
        reference: &str,
        rest: &str,
    ) -> Result<SecretValue, SecretError> {
        // NAME[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]]; the versions have one value here.
        let mut parts = rest.split(':');
        let name = parts.next().unwrap_or_default();
        let key = parts.next().filter(|k| !k.is_empty());
        let mut text = self
            .read(reference, &self.path(reference, "secretsmanager", name)?)
            .await?;
        if text.is_none() {
            // A full ARN ends with the 6 characters Secrets Manager adds to the name.
            if let Some((base, suffix)) = name.rsplit_once('-')
                && suffix.len() == 6
                && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                text = self
                    .read(reference, &self.path(reference, "secretsmanager", base)?)
                    .await?;
            }
        }
        let text = text.ok_or_else(|| SecretError::NotFound(reference.to_owned()))?;
        let Some(key) = key else {
            return Ok(SecretValue::new(text));
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| SecretError::Key {
                reference: reference.to_owned(),
                reason: format!("the secret is not a JSON object, so it has no key {key:?}"),
            })?;
        match json.get(key) {
            Some(serde_json::Value::String(s)) => Ok(SecretValue::new(s.clone())),
            Some(other) => Ok(SecretValue::new(other.to_string())),
            None => Err(SecretError::Key {
                reference: reference.to_owned(),
                reason: format!("the secret has no key {key:?}"),
            }),
        }
    }
}

/// The service and resource of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
fn arn(reference: &str) -> Option<(&str, &str)> {
    let mut parts = reference.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some(service), Some(_), Some(_), Some(resource)) => {
            Some((service, resource))
        }
        _ => None,
    }
}

#[async_trait::async_trait]
impl SecretProvider for LocalSecrets {
    async fn secret(&self, value_from: &str) -> Result<SecretValue, SecretError> {
        let parameter = match arn(value_from) {
            Some(("secretsmanager", resource)) => {
                let rest =
                    resource
                        .strip_prefix("secret:")
                        .ok_or_else(|| SecretError::Invalid {
                            reference: value_from.to_owned(),
                            reason: "a Secrets Manager ARN names secret:NAME".to_owned(),
                        })?;
                return self.secrets_manager(value_from, rest).await;
            }
            Some(("ssm", resource)) => {
                resource
                    .strip_prefix("parameter/")
                    .ok_or_else(|| SecretError::Invalid {
                        reference: value_from.to_owned(),
                        reason: "an SSM ARN names parameter/NAME".to_owned(),
                    })?
            }
            Some((service, _)) => {
                return Err(SecretError::Invalid {
                    reference: value_from.to_owned(),
                    reason: format!(
                        "secrets come from Secrets Manager or SSM Parameter Store, not {service}"
                    ),
                });
            }
            // A parameter's name.
            None => value_from,
        };
        let path = self.path(value_from, "ssm", parameter)?;
        self.read(value_from, &path)
            .await?
            .map(SecretValue::new)
            .ok_or_else(|| SecretError::NotFound(value_from.to_owned()))
    }

    async fn environment_file(&self, value: &str) -> Result<SecretValue, SecretError> {
        let object = match arn(value) {
            Some(("s3", resource)) => resource,
            _ => {
                return Err(SecretError::Invalid {
                    reference: value.to_owned(),
                    reason: "an environment file is an S3 object's ARN (arn:aws:s3:::BUCKET/KEY)"
                        .to_owned(),
                });
            }
        };
        let path = self.path(value, "s3", object)?;
        self.read(value, &path)
            .await?
            .map(SecretValue::new)
            .ok_or_else(|| SecretError::NotFound(value.to_owned()))
    }
}
