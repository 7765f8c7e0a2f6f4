//! With `iam.rs`, the only module that knows the AWS SDK: builds an STS client for one step
//! and makes one call, turning SDK errors into vault's (only reached on a cache miss); the
//! STS calls of `rotate` and `login`; and `login`'s one plain HTTPS GET, on the SDK's own
//! HTTP stack.

use std::time::Duration;

use aws_sdk_sts::config::http::{HttpRequest, HttpResponse};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::types::Tag;
use secrecy::{ExposeSecret, SecretString};

use super::plan::{Call, Step};
use crate::error::{Error, Result};
use crate::store::Credentials;

/// Where STS is: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the profile's
/// `endpoint_url`; with `sts_regional_endpoints = legacy`, the global endpoint.
pub fn endpoint(
    step: &Step,
    sts_regional_endpoints: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    sts_endpoint(step.endpoint_url.as_deref(), sts_regional_endpoints, var)
}

/// [`endpoint`] for a profile's `endpoint_url` rather than a step's.
pub fn sts_endpoint(
    endpoint_url: Option<&str>,
    sts_regional_endpoints: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    configured_endpoint("AWS_ENDPOINT_URL_STS", endpoint_url, &var).or_else(|| {
        (sts_regional_endpoints == Some("legacy") && !ignore_configured(&var))
            .then(|| "https://sts.amazonaws.com".to_string())
    })
}

/// A service's endpoint as the SDKs read it: its own variable, else `AWS_ENDPOINT_URL`, else
/// the profile's `endpoint_url`; none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
pub(super) fn configured_endpoint(
    service_variable: &str,
    endpoint_url: Option<&str>,
    var: &impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if ignore_configured(var) {
        return None;
    }
    var(service_variable)
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| endpoint_url.map(str::to_string))
}

fn ignore_configured(var: &impl Fn(&str) -> Option<String>) -> bool {
    var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// How long one STS attempt may take (there are 3): `AWS_VAULT_STS_TIMEOUT`, else 20 s.
pub(crate) fn attempt_timeout() -> Result<Duration> {
    let Ok(text) = std::env::var("AWS_VAULT_STS_TIMEOUT") else {
        return Ok(Duration::from_secs(20));
    };
    match crate::settings::parse_duration(&text, "AWS_VAULT_STS_TIMEOUT")? {
        Duration::ZERO => Err(Error::BadValue {
            name: "AWS_VAULT_STS_TIMEOUT",
            problem: "must be more than 0".to_string(),
        }),
        timeout => Ok(timeout),
    }
}

/// The HTTP client every SDK client of vault's uses: hyper with rustls on ring, the system's
/// roots, and the proxy variables (`HTTPS_PROXY`, `NO_PROXY`) honoured, as the SDK's own
/// default client does with aws-lc.
pub(crate) fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

pub(super) fn client(
    region: Option<&str>,
    endpoint: Option<&str>,
    credentials: Option<&Credentials>,
    attempt_timeout: Duration,
) -> aws_sdk_sts::Client {
    let region = region.unwrap_or("us-east-1").to_string();
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(region))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5).min(attempt_timeout))
                .operation_attempt_timeout(attempt_timeout)
                .build(),
        );
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    if let Some(c) = credentials {
        config = config.credentials_provider(sdk_credentials(c));
    }
    aws_sdk_sts::Client::from_conf(config.build())
}

pub(super) fn sdk_credentials(c: &Credentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.expose_secret().to_string(),
        c.session_token
            .as_ref()
            .map(|t| t.expose_secret().to_string()),
        None,
        "vault",
    )
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime starts")
}

/// Makes the step's STS call with `input` credentials (and an MFA `code` where the call
/// names a device).
pub fn call(
    step: &Step,
    endpoint: Option<&str>,
    input: Option<&Credentials>,
    code: Option<&str>,
) -> Result<Credentials> {
    let client = client(step.region.as_deref(), endpoint, input, attempt_timeout()?);
    let failed = |e: Failure| e.into_error(step, endpoint);
    let out = runtime().block_on(async {
        match &step.call {
            Call::GetSessionToken {
                duration,
                mfa_serial,
            } => client
                .get_session_token()
                .duration_seconds(*duration as i32)
                .set_serial_number(mfa_serial.clone())
                .set_token_code(code.map(str::to_string))
                .send()
                .await
                .map(|o| o.credentials)
                .map_err(Failure::from),
            Call::AssumeRole {
                role_arn,
                session_name,
                external_id,
                duration,
                mfa_serial,
                tags,
                transitive_tags,
                source_identity,
            } => {
                let tags: Vec<Tag> = tags
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<_, _>>()
                    .map_err(|e| Failure::Other(e.to_string()))?;
                client
                    .assume_role()
                    .role_arn(role_arn)
                    .role_session_name(session_name.clone().unwrap_or_else(default_session_name))
                    .duration_seconds(*duration as i32)
                    .set_external_id(external_id.clone())
                    .set_serial_number(mfa_serial.clone())
                    .set_token_code(code.map(str::to_string))
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .set_transitive_tag_keys(
                        (!transitive_tags.is_empty()).then(|| transitive_tags.clone()),
                    )
                    .set_source_identity(source_identity.clone())
                    .send()
                    .await
                    .map(|o| o.credentials)
                    .map_err(Failure::from)
            }
            Call::AssumeRoleWithWebIdentity {
                role_arn,
                token_file,
                session_name,
                duration,
            } => {
                let token = std::fs::read_to_string(token_file).map_err(|e| {
                    Failure::Other(format!("could not read the token file `{token_file}`: {e}"))
                })?;
                client
                    .assume_role_with_web_identity()
                    .role_arn(role_arn)
                    .role_session_name(session_name.clone().unwrap_or_else(default_session_name))
                    .web_identity_token(token.trim())
                    .duration_seconds(*duration as i32)
                    .send()
                    .await
                    .map(|o| o.credentials)
                    .map_err(Failure::from)
            }
            Call::CredentialProcess { .. }
            | Call::SsoGetRoleCredentials { .. }
            | Call::SignIn { .. } => unreachable!(
                "credential_process, SSO and sign-in sessions are run by the session module, not STS"
            ),
        }
    });
    temporary(step.call.kind(), out.map_err(failed)?)
}

/// The ARN of whoever `credentials` belong to (GetCallerIdentity); refused keys are named
/// as `source`'s.
pub fn caller_identity(
    credentials: &Credentials,
    region: Option<&str>,
    endpoint: Option<&str>,
    source: &str,
) -> Result<String> {
    let client = client(region, endpoint, Some(credentials), attempt_timeout()?);
    runtime()
        .block_on(client.get_caller_identity().send())
        .map(|out| out.arn.unwrap_or_default())
        .map_err(|e| Failure::from(e).into_plain_error("sts.GetCallerIdentity", endpoint, source))
}

/// GetFederationToken with long-lived `keys`: a federated user's session (for the console),
/// limited by `policy` and the user's own permissions. Refused keys are named as `source`'s.
pub fn federation_token(
    keys: &Credentials,
    name: &str,
    policy: &str,
    duration: u64,
    region: Option<&str>,
    endpoint: Option<&str>,
    source: &str,
) -> Result<Credentials> {
    let operation = "sts.GetFederationToken";
    let client = client(region, endpoint, Some(keys), attempt_timeout()?);
    let out = runtime()
        .block_on(
            client
                .get_federation_token()
                .name(name)
                .policy(policy)
                .duration_seconds(i32::try_from(duration).unwrap_or(i32::MAX))
                .send(),
        )
        .map_err(|e| Failure::from(e).into_plain_error(operation, endpoint, source))?;
    temporary(operation, out.credentials)
}

/// AssumeRole of `role_arn` with `credentials`, no MFA, vault's default session name: the
/// `/role-arn/` route of `exec --server`. Refused credentials are named as `source`'s.
pub fn assume_role(
    credentials: &Credentials,
    role_arn: &str,
    duration: u64,
    region: Option<&str>,
    endpoint: Option<&str>,
    source: &str,
) -> Result<Credentials> {
    let operation = "sts.AssumeRole";
    let client = client(region, endpoint, Some(credentials), attempt_timeout()?);
    let out = runtime()
        .block_on(
            client
                .assume_role()
                .role_arn(role_arn)
                .role_session_name(default_session_name())
                .duration_seconds(i32::try_from(duration).unwrap_or(i32::MAX))
                .send(),
        )
        .map_err(|e| Failure::from(e).into_plain_error(operation, endpoint, source))?;
    temporary(operation, out.credentials)
}

/// An STS answer's temporary credentials; an answer without any is an error of `operation`.
fn temporary(
    operation: &str,
    credentials: Option<aws_sdk_sts::types::Credentials>,
) -> Result<Credentials> {
    let credentials = credentials.ok_or_else(|| Error::Sts {
        operation: operation.to_string(),
        code: "NoCredentials".to_string(),
        message: "the response held no credentials".to_string(),
    })?;
    Ok(Credentials {
        access_key_id: credentials.access_key_id,
        secret_access_key: SecretString::from(credentials.secret_access_key),
        session_token: Some(SecretString::from(credentials.session_token)),
        expiration: u64::try_from(credentials.expiration.secs()).ok(),
    })
}

/// A plain HTTPS GET through the SDK's own HTTP stack (hyper, rustls on ring, the system's
/// roots), for the console federation endpoint, which is no SDK service. The URL holds
/// credentials: it is never logged or put in an error; errors name `shown` instead.
/// Returns the status and the body.
pub fn http_get(url: &SecretString, shown: &str) -> Result<(u16, Vec<u8>)> {
    use aws_smithy_http_client::Connector;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_types::byte_stream::ByteStream;

    let service = "the AWS sign-in endpoint";
    let unreachable = |problem: String| Error::ServiceUnreachable {
        service,
        endpoint: shown.to_string(),
        // An error may quote the request; the URL must not reach the terminal.
        problem: problem.replace(url.expose_secret(), shown),
    };
    let mut request = HttpRequest::get(url.expose_secret()).map_err(|_| Error::BadValue {
        name: "AWS_VAULT_FEDERATION_URL",
        problem: format!("`{shown}` does not make a valid URL"),
    })?;
    request
        .headers_mut()
        .insert("user-agent", concat!("vault/", env!("CARGO_PKG_VERSION")));
    let timeout = attempt_timeout()?;
    let runtime = runtime();
    runtime.block_on(async {
        let connector = Connector::builder()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build();
        let response = tokio::time::timeout(timeout, connector.call(request))
            .await
            .map_err(|_| unreachable(format!("no answer within {timeout:?}")))?
            .map_err(|e| unreachable(sources(&e)))?;
        let status = response.status().as_u16();
        let body = tokio::time::timeout(timeout, ByteStream::new(response.into_body()).collect())
            .await
            .map_err(|_| unreachable(format!("the answer did not finish within {timeout:?}")))?
            .map_err(|e| unreachable(sources(&e)))?;
        Ok((status, body.into_bytes().to_vec()))
    })
}

/// `vault-<user>-<unix seconds>`: valid for STS (`[\w+=,.@-]`, 2 to 64 characters), and
/// says who and when in CloudTrail.
pub fn default_session_name() -> String {
    let user: String = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "user".to_string())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(40)
        .collect();
    let user = if user.is_empty() {
        "user".to_string()
    } else {
        user
    };
    format!("vault-{user}-{}", crate::store::now())
}

/// An SDK failure, reduced to what vault needs to explain it.
pub(super) enum Failure {
    Service {
        code: String,
        message: String,
    },
    Unreachable(String),
    /// An answer that is not STS's (no error code to read): a proxy, a wrong endpoint.
    BadResponse(String),
    Other(String),
}

impl<E: ProvideErrorMetadata + std::error::Error + 'static> From<SdkError<E, HttpResponse>>
    for Failure
{
    fn from(e: SdkError<E, HttpResponse>) -> Failure {
        match &e {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                Failure::Unreachable(sources(&e))
            }
            SdkError::ServiceError(service) if service.err().code().is_none() => {
                Failure::BadResponse(unreadable(service.raw(), service.err()))
            }
            SdkError::ServiceError(service) => Failure::Service {
                code: service.err().code().unwrap_or("Unknown").to_string(),
                message: service.err().message().unwrap_or_default().to_string(),
            },
            SdkError::ResponseError(response) => {
                Failure::BadResponse(unreadable(response.raw(), &e))
            }
            _ => Failure::Other(sources(&e)),
        }
    }
}

/// `HTTP 200 (text/plain): error parsing XML: no root element`: what came back, without
/// the body (it may hold secrets).
pub(super) fn unreadable(response: &HttpResponse, error: &dyn std::error::Error) -> String {
    let mut text = format!("HTTP {}", response.status().as_u16());
    if let Some(content_type) = response.headers().get("content-type") {
        text.push_str(&format!(" ({content_type})"));
    }
    // The SDK's wrappers ("unhandled error", a bare "Error") say nothing.
    let detail = sources(error);
    let detail = detail
        .trim_start_matches("unhandled error")
        .trim_start_matches(": ");
    if !detail.is_empty() && detail != "Error" {
        text.push_str(&format!(": {detail}"));
    }
    text
}

/// An error and its sources on one line (`dispatch failure: io error: ...: Connection
/// refused (os error 111)`), each said once. Never a response body: it may hold secrets.
pub(crate) fn sources(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = error.source();
    }
    parts.join(": ")
}

impl Failure {
    /// For a call outside a plan: refused keys are `source`'s, the rest as AWS said it.
    pub(super) fn into_plain_error(
        self,
        operation: &str,
        endpoint: Option<&str>,
        source: &str,
    ) -> Error {
        match self {
            Failure::Unreachable(problem) => Error::StsUnreachable {
                endpoint: endpoint.unwrap_or("the AWS STS endpoint").to_string(),
                problem,
            },
            Failure::BadResponse(problem) => Error::StsBadResponse {
                endpoint: endpoint.unwrap_or("the AWS STS endpoint").to_string(),
                problem,
            },
            Failure::Other(message) => Error::Sts {
                operation: operation.to_string(),
                code: "Error".to_string(),
                message,
            },
            Failure::Service { code, .. } if refused_keys(&code) => Error::KeysRefused {
                source: source.to_string(),
                code,
            },
            Failure::Service { code, message } => Error::Sts {
                operation: operation.to_string(),
                code,
                message,
            },
        }
    }

    fn into_error(self, step: &Step, endpoint: Option<&str>) -> Error {
        match self {
            Failure::Service { code, message } => explain(step, code, message),
            other => other.into_plain_error(step.call.kind(), endpoint, &step.cache_key.source),
        }
    }
}

/// STS's refusals, as sentences with a next step.
fn explain(step: &Step, code: String, message: String) -> Error {
    let role = match &step.call {
        Call::AssumeRole { role_arn, .. } | Call::AssumeRoleWithWebIdentity { role_arn, .. } => {
            Some(role_arn.clone())
        }
        _ => None,
    };
    let has_external_id = matches!(
        &step.call,
        Call::AssumeRole {
            external_id: Some(_),
            ..
        }
    );
    if message.contains("MultiFactorAuthentication failed")
        || message.contains("MFA") && code == "AccessDenied"
    {
        return Error::MfaRefused {
            serial: step
                .call
                .mfa_serial()
                .unwrap_or("the MFA device")
                .to_string(),
        };
    }
    if code == "AccessDenied"
        && let Some(role) = &role
        && message.contains("is not authorized to perform: sts:AssumeRole")
    {
        let caller = message
            .strip_prefix("User: ")
            .and_then(|rest| rest.split(" is not authorized").next())
            .unwrap_or("the caller")
            .to_string();
        return Error::RoleRefused {
            role: role.clone(),
            caller,
            profile: step.profile.clone(),
            has_external_id,
        };
    }
    if message.contains("DurationSeconds exceeds the 1 hour session limit") {
        return Error::ChainingLimit {
            profile: step.profile.clone(),
        };
    }
    if message.contains("DurationSeconds exceeds the MaxSessionDuration") {
        return Error::DurationTooLong {
            role: role.unwrap_or_default(),
            profile: step.profile.clone(),
        };
    }
    if refused_keys(&code) {
        return Error::KeysRefused {
            source: step.cache_key.source.clone(),
            code,
        };
    }
    if code == "ExpiredToken" {
        return Error::SessionExpired {
            profile: step.profile.clone(),
        };
    }
    Error::Sts {
        operation: step.call.kind().to_string(),
        code,
        message,
    }
}

/// The codes AWS answers keys it does not know (or a wrong secret) with.
pub(super) fn refused_keys(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionKey;

    fn role_step(external_id: Option<&str>) -> Step {
        Step {
            profile: "target".to_string(),
            call: Call::AssumeRole {
                role_arn: "arn:aws:iam::1:role/admin".to_string(),
                session_name: None,
                external_id: external_id.map(str::to_string),
                duration: 7200,
                mfa_serial: Some("arn:aws:iam::1:mfa/jane".to_string()),
                tags: Vec::new(),
                transitive_tags: Vec::new(),
                source_identity: None,
            },
            region: None,
            endpoint_url: None,
            cache_key: SessionKey {
                kind: "sts.AssumeRole".to_string(),
                profile: "target".to_string(),
                mfa_serial: None,
                source: "gds-users".to_string(),
                params: "x".to_string(),
            },
        }
    }

    /// AWS's own wording of each refusal -> the error vault shows.
    #[test]
    fn refusals_are_explained() {
        let step = role_step(None);
        let cases: &[(&str, &str, &str)] = &[
            (
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                "the MFA code for `arn:aws:iam::1:mfa/jane` was refused by AWS",
            ),
            (
                "AccessDenied",
                "User: arn:aws:iam::1:user/jane is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/admin",
                "`arn:aws:iam::1:user/jane` may not assume the role `arn:aws:iam::1:role/admin`",
            ),
            (
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                "profile `target` asked for more than 1h, the limit for a role assumed through another session",
            ),
            (
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                "the requested duration is over the maximum session duration of `arn:aws:iam::1:role/admin`",
            ),
            (
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                "AWS refused the keys of `gds-users` (InvalidClientTokenId)",
            ),
            (
                "ExpiredToken",
                "The security token included in the request is expired",
                "a session used for `target` has expired or was revoked",
            ),
            (
                "Throttling",
                "Rate exceeded",
                "sts.AssumeRole failed: Throttling: Rate exceeded",
            ),
        ];
        for (code, message, expect) in cases {
            let error = explain(&step, code.to_string(), message.to_string());
            assert_eq!(error.to_string(), *expect, "{code}: {message}");
        }
    }

    #[test]
    fn trust_refusals_point_at_external_id() {
        let message = "User: arn:aws:iam::1:user/jane is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/admin";
        for (external_id, mentions) in [
            (None, "if it requires an ExternalId"),
            (Some("e"), "`external_id`"),
        ] {
            let error = explain(
                &role_step(external_id),
                "AccessDenied".into(),
                message.into(),
            );
            assert!(
                error.hint().unwrap().contains(mentions),
                "{:?}",
                error.hint()
            );
        }
    }
}
