//! The one call to the Sign-In service, `CreateOAuth2Token` (`POST /v1/token`, rest-json, no
//! SigV4), for both grants, as a plain HTTPS POST through the SDK's HTTP stack (hyper, rustls
//! on ring, the system's roots, the proxy variables), the one vault's other clients use.
//! Not aws-sdk-signin: the DPoP proof must name the exact URL the request goes to, which a
//! plain request has by construction, and the one operation is not worth a second SDK
//! service client in `vault-full`. Must not: be reached on the warm path; log or return a
//! token, code or key (errors name the endpoint and the service's code only).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::dpop::Key;
use super::errors::{Grant, ServiceError};
use super::token::{self, Answer};
use super::{Endpoint, authorize};

/// Why a token call gave no token.
#[derive(Debug)]
pub enum Failure {
    /// No answer: the network, TLS, a timeout. The text names no secret.
    Unreachable(String),
    /// The service said no, with one of its codes.
    Service(ServiceError),
    /// A 200 that is not a token answer (a proxy, a wrong endpoint).
    BadAnswer(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(problem) | Failure::BadAnswer(problem) => f.write_str(problem),
            Failure::Service(e) => e.fmt(f),
        }
    }
}

/// One grant's request body, camelCase, the JSON object itself (the `tokenInput` payload).
pub enum Request<'a> {
    Refresh {
        client_id: &'a str,
        refresh_token: &'a SecretString,
    },
    Code {
        request: &'a authorize::Request,
        code: &'a SecretString,
    },
}

impl Request<'_> {
    fn grant(&self) -> Grant {
        match self {
            Request::Refresh { .. } => Grant::RefreshToken,
            Request::Code { .. } => Grant::AuthorizationCode,
        }
    }

    /// The body, wiped when dropped.
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        let value = match self {
            Request::Refresh {
                client_id,
                refresh_token,
            } => serde_json::json!({
                "clientId": client_id,
                "grantType": "refresh_token",
                "refreshToken": refresh_token.expose_secret(),
            }),
            Request::Code { request, code } => serde_json::json!({
                "clientId": request.client_id,
                "grantType": "authorization_code",
                "code": code.expose_secret(),
                "codeVerifier": request.verifier.expose_secret(),
                "redirectUri": request.redirect_uri,
            }),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(8192));
        serde_json::to_writer(&mut *out, &value).expect("a request serializes");
        out
    }
}

/// How many times a call is tried when the service fails or throttles (botocore's standard
/// retries: 3 attempts).
const ATTEMPTS: u32 = 3;

/// Makes the call with a fresh proof signed by `key` for each attempt; retries 5xx and 429
/// with a short pause. `now` gives the proof's `iat` (Unix seconds).
pub fn create_token(
    endpoint: &Endpoint,
    request: &Request<'_>,
    key: &Key,
    now: &dyn Fn() -> u64,
) -> Result<Answer, Failure> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        match call(endpoint, request, key, now()) {
            Err(Failure::Service(e)) if e.retryable() => {
                crate::debug!("CreateOAuth2Token: {e}; trying again");
                last = Some(Failure::Service(e));
            }
            result => return result,
        }
    }
    Err(last.expect("at least one attempt"))
}

fn call(
    endpoint: &Endpoint,
    request: &Request<'_>,
    key: &Key,
    iat: u64,
) -> Result<Answer, Failure> {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Connector, proxy::ProxyConfig};
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::byte_stream::ByteStream;

    let url = endpoint.token_url();
    let shown = url.clone();
    let unreachable = |problem: String| {
        Failure::Unreachable(format!(
            "could not reach the AWS Sign-In service at `{shown}`: {problem}"
        ))
    };
    let body = request.body();
    let mut http = HttpRequest::new(SdkBody::from(body.to_vec()));
    *http.uri_mut() = url
        .as_str()
        .try_into()
        .map_err(|_| unreachable("not a valid URL".to_string()))?;
    http.set_method("POST")
        .map_err(|_| unreachable("POST is not a method".to_string()))?;
    let headers = http.headers_mut();
    headers.insert("content-type", "application/json");
    headers.insert("accept", "application/json");
    headers.insert("user-agent", concat!("vault/", env!("CARGO_PKG_VERSION")));
    // The exact URL the request goes to: the proof's `htu`.
    headers.insert("dpop", key.proof(&url, iat, &super::dpop::uuid4()));
    let timeout = crate::sts::aws::attempt_timeout().unwrap_or(Duration::from_secs(20));
    crate::debug!("CreateOAuth2Token ({:?}) at {url}", request.grant());
    let runtime = crate::sts::aws::runtime();
    let (status, error_type, bytes) = runtime.block_on(async {
        let connector = Connector::builder()
            .proxy_config(ProxyConfig::from_env())
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build();
        let response = tokio::time::timeout(timeout, connector.call(http))
            .await
            .map_err(|_| unreachable(format!("no answer within {timeout:?}")))?
            .map_err(|e| unreachable(crate::sts::aws::sources(&e)))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(str::to_string);
        let body = tokio::time::timeout(timeout, ByteStream::new(response.into_body()).collect())
            .await
            .map_err(|_| unreachable(format!("the answer did not finish within {timeout:?}")))?
            .map_err(|e| unreachable(crate::sts::aws::sources(&e)))?;
        Ok::<_, Failure>((
            status,
            error_type,
            Zeroizing::new(body.into_bytes().to_vec()),
        ))
    })?;
    if status != 200 {
        return Err(Failure::Service(ServiceError::parse(
            status,
            error_type.as_deref(),
            &bytes,
            request.grant(),
        )));
    }
    token::parse_answer(&bytes).map_err(Failure::BadAnswer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bodies_are_the_models() {
        let refresh = SecretString::from("R");
        let body = Request::Refresh {
            client_id: super::super::SAME_DEVICE,
            refresh_token: &refresh,
        }
        .body();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"clientId": "arn:aws:signin:::devtools/same-device",
                               "grantType": "refresh_token", "refreshToken": "R"})
        );
        let request = authorize::Request::new(&authorize::Flow::CrossDevice, "https://h");
        let code = SecretString::from("C");
        let body: serde_json::Value = serde_json::from_slice(
            &Request::Code {
                request: &request,
                code: &code,
            }
            .body(),
        )
        .unwrap();
        assert_eq!(body["grantType"], "authorization_code");
        assert_eq!(body["clientId"], super::super::CROSS_DEVICE);
        assert_eq!(body["redirectUri"], "https://h/v1/sessions/confirmation");
        assert_eq!(body["codeVerifier"], request.verifier.expose_secret());
        assert_eq!(body["code"], "C");
    }
}
