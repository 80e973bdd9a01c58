//! SDK errors as provider errors that name the service and say what to do:
//! a timeout is a timeout, a refused connection is unreachable, and expired
//! or missing credentials come with the command that renews them.

use std::error::Error;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::providers::ProviderError;

/// `aws <service>`: how every AWS error names its source.
pub fn origin(service: &str) -> String {
    format!("aws {service}")
}

/// An SDK error of `service`'s `operation` as a provider error.
pub fn from_sdk<E, R>(
    service: &str,
    operation: &str,
    err: &SdkError<E, R>,
    profile: Option<&str>,
    attempt_ms: u64,
) -> ProviderError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug,
{
    let origin = origin(service);
    match err {
        SdkError::TimeoutError(_) => ProviderError::Timeout {
            origin,
            after_ms: attempt_ms,
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => ProviderError::Timeout {
            origin,
            after_ms: attempt_ms,
        },
        SdkError::DispatchFailure(d) if d.is_io() => ProviderError::Unreachable {
            origin,
            detail: format!(
                "{operation}: {}",
                one_line(&DisplayErrorContext(err).to_string())
            ),
        },
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or("error");
            let message = e.message().unwrap_or("");
            let hint = credentials_hint(&format!("{code} {message}"), profile);
            ProviderError::Failed {
                origin,
                detail: format!("{operation}: {code}: {}{hint}", one_line(message)),
            }
        }
        _ => {
            let text = one_line(&DisplayErrorContext(err).to_string());
            let hint = credentials_hint(&text, profile);
            ProviderError::Failed {
                origin,
                detail: format!("{operation}: {text}{hint}"),
            }
        }
    }
}

/// What renews the credentials, when `text` says they are the problem.
pub fn credentials_hint(text: &str, profile: Option<&str>) -> String {
    let lower = text.to_ascii_lowercase();
    let profile_arg = profile.map_or(String::new(), |p| format!(" --profile {p}"));
    if lower.contains("sso") || (lower.contains("token") && lower.contains("expired")) {
        format!(" (the SSO session has ended: run `aws sso login{profile_arg}`)")
    } else if lower.contains("expiredtoken") || lower.contains("security token") {
        format!(" (the credentials have expired: renew them, e.g. `aws sso login{profile_arg}`)")
    } else if lower.contains("no credentials")
        || lower.contains("credentials provider")
        || lower.contains("failed to load credentials")
        || lower.contains("loading credentials")
        || lower.contains("invalidclienttokenid")
        || lower.contains("unrecognizedclient")
    {
        format!(
            " (no usable credentials: set AWS_PROFILE or --profile, or run `aws sso login{profile_arg}` / `aws configure{profile_arg}`)"
        )
    } else {
        String::new()
    }
}

/// Error texts can span lines (nested causes): one line for a panel, without
/// the SDK's debug dump of the same error.
fn one_line(text: &str) -> String {
    let mut text = text;
    for dump in [
        " (DispatchFailure(",
        " (ConstructionFailure(",
        " (ResponseError(",
        " (TimeoutError(",
        " (ServiceError(",
    ] {
        if let Some(at) = text.find(dump) {
            text = &text[..at];
        }
    }
    for noise in [
        "dispatch failure: other: ",
        "dispatch failure: ",
        "failed to construct request: ",
    ] {
        if let Some(rest) = text.strip_prefix(noise) {
            text = rest;
        }
    }
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Nested causes often repeat themselves ("loading credentials: loading
    // credentials: …"): each part once in a row.
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split(": ") {
        if parts.last() != Some(&p) {
            parts.push(p);
        }
    }
    let joined = parts.join(": ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(300).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_sso_names_the_login_command() {
        let h = credentials_hint(
            "failed to load credentials: the SSO token has expired and cannot be refreshed",
            Some("prod"),
        );
        assert!(h.contains("aws sso login --profile prod"), "{h}");
        assert!(credentials_hint("Throttling: Rate exceeded", Some("prod")).is_empty());
        let none = credentials_hint("no credentials in the property bag", None);
        assert!(none.contains("AWS_PROFILE"), "{none}");
    }
}
