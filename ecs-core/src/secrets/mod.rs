//! Secrets and environment files: a container's `secrets` (Secrets Manager secrets and
//! SSM Parameter Store parameters, by ARN or name) and `environmentFiles` (S3 objects),
//! resolved through a [`SecretProvider`] the embedding program supplies
//! ([`EcsConfig::secret_provider`](crate::config::EcsConfig::secret_provider));
//! [`LocalSecrets`] reads them from a folder.
//!
//! Values reach the container as environment variables and nowhere else: they are
//! [`SecretValue`]s, whose `Debug` and `Display` print `<redacted>`, never serialized,
//! never stored (the store keeps tasks, not what their containers were given), never
//! logged. A task whose secret or file cannot be read stops before any of its
//! containers is created, with ECS's stop code and reason
//! (`TaskFailedToStart`, `ResourceInitializationError: unable to pull secrets or
//! registry auth: ...`).
//!
//! ```
//! use ecs_core::secrets::{LocalSecrets, SecretProvider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join("secretsmanager/prod"))?;
//! std::fs::write(dir.path().join("secretsmanager/prod/db"), r#"{"password": "hunter2"}"#)?;
//! let secrets = LocalSecrets::new(dir.path());
//! let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-a1B2c3:password::";
//! let value = secrets.secret(arn).await?;
//! assert_eq!(value.expose(), "hunter2");
//! assert_eq!(format!("{value:?}"), "<redacted>");
//! # Ok(())
//! # }
//! ```

mod local;
pub(crate) mod resolve;

use std::fmt;

pub use local::LocalSecrets;

/// A secret's value. Its `Debug` and `Display` print `<redacted>`; only
/// [`SecretValue::expose`] shows it, for the one place that needs it (the container's
/// environment).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why a secret or an environment file could not be read. Its messages name the
/// secret (its ARN or name), never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No such secret, parameter or object (ECS: `ResourceNotFoundException`).
    #[error("{0}: not found")]
    NotFound(String),
    /// A reference the provider cannot read (not an ARN of Secrets Manager, SSM or S3,
    /// a path that climbs out of its folder ...).
    #[error("{reference}: {reason}")]
    Invalid {
        /// The reference.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The secret exists but a part of it asked for does not (a JSON key of a Secrets
    /// Manager secret that is not JSON, or has no such key).
    #[error("{reference}: {reason}")]
    Key {
        /// The reference.
        reference: String,
        /// What is missing.
        reason: String,
    },
    /// The provider failed (I/O ...).
    #[error("{reference}: {reason}")]
    Unavailable {
        /// The reference.
        reference: String,
        /// What went wrong.
        reason: String,
    },
}

/// Where secrets and environment files come from. The embedding program supplies one
/// in [`EcsConfig::secret_provider`](crate::config::EcsConfig::secret_provider)
/// ([`LocalSecrets`] reads a folder; one of your own can ask a vault). Its `Debug` must
/// not print values.
#[async_trait::async_trait]
pub trait SecretProvider: Send + Sync + fmt::Debug {
    /// The value `value_from` names: a Secrets Manager secret
    /// (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:JSON-KEY:VERSION-STAGE:VERSION-ID]`)
    /// or an SSM parameter (`arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, or its name).
    async fn secret(&self, value_from: &str) -> Result<SecretValue, SecretError>;

    /// The text of an environment file (`arn:aws:s3:::BUCKET/KEY.env`), `NAME=VALUE`
    /// lines.
    async fn environment_file(&self, value: &str) -> Result<SecretValue, SecretError>;
}
