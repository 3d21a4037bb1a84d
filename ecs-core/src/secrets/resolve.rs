//! A container's secrets and environment files, resolved into environment variables,
//! or the reason its task stops.

use super::{SecretError, SecretProvider, SecretValue};
use crate::task_definition::ContainerDefinition;

/// The variables a container's `environmentFiles` and `secrets` give it, in the order
/// they apply: the files from the top down (a later file's variable replaces an
/// earlier one's), minus what the container's `environment` sets (it takes precedence,
/// as in ECS), then the secrets. `Err` is the task's stop reason, in ECS's words.
pub(crate) async fn environment(
    provider: Option<&dyn SecretProvider>,
    c: &ContainerDefinition,
) -> Result<Vec<(String, SecretValue)>, String> {
    let files = c.environment_files.as_deref().unwrap_or_default();
    let secrets = c.secrets.as_deref().unwrap_or_default();
    if files.is_empty() && secrets.is_empty() {
        return Ok(Vec::new());
    }
    let Some(provider) = provider else {
        return Err(format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: container \
             {} has secrets or environment files and no secret provider is set \
             (EcsConfig::secret_provider)",
            c.name()
        ));
    };
    let defined = |name: &str| {
        c.environment
            .iter()
            .flatten()
            .any(|kv| kv.name.as_deref() == Some(name))
    };
    let mut vars: Vec<(String, SecretValue)> = Vec::new();
    for file in files {
        let text = provider.environment_file(&file.value).await.map_err(|e| {
            format!("ResourceInitializationError: failed to download env files: {e}")
        })?;
        for (name, value) in parse_env_file(text.expose()) {
            if defined(&name) {
                continue;
            }
            vars.retain(|(n, _)| *n != name);
            vars.push((name, SecretValue::new(value)));
        }
    }
    for secret in secrets {
        let value = provider
            .secret(&secret.value_from)
            .await
            .map_err(|e| retrieval_failed(&secret.value_from, &e))?;
        vars.retain(|(n, _)| *n != secret.name);
        vars.push((secret.name.clone(), value));
    }
    Ok(vars)
}

/// ECS's reason for a secret it could not retrieve (`asm` for Secrets Manager, `ssm`
/// for Parameter Store).
fn retrieval_failed(value_from: &str, e: &SecretError) -> String {
    let service = if value_from.contains(":secretsmanager:") {
        "asm"
    } else {
        "ssm"
    };
    format!(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution \
         resource retrieval failed: unable to retrieve secret from {service}: {e}"
    )
}

/// `NAME=VALUE` lines; blank lines and lines beginning with `#` are skipped, as are
/// lines without `=` or with an empty name. Values are taken as written (no quotes
/// removed), as ECS does.
pub(crate) fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_read_as_ecs_reads_them() {
        let text =
            "# a comment\nA=1\n\nB = two words \nC=x=y\nnot a variable\n=empty\r\nD=\"q\"\r\n";
        assert_eq!(
            parse_env_file(text),
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), " two words ".to_owned()),
                ("C".to_owned(), "x=y".to_owned()),
                ("D".to_owned(), "\"q\"".to_owned()),
            ]
        );
    }
}
