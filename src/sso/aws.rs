//! The only module of `sso` that knows the AWS SDK (aws-sdk-sso, aws-sdk-ssooidc): one
//! call each for the portal (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout)
//! and SSO OIDC (RegisterClient, StartDeviceAuthorization, CreateToken), SDK errors turned
//! into vault's. Must not: be reached on the warm path, or put a token in an error or log.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use aws_sdk_sso::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{BehaviorVersion, Region};
use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::store::Credentials;
use crate::sts::aws::{attempt_timeout, runtime, sources};

const SERVICE: &str = "IAM Identity Center";

/// Where a client goes: the endpoint override, else the SDK's for `region`.
pub struct Endpoint<'a> {
    pub region: &'a str,
    pub url: Option<&'a str>,
}

impl Endpoint<'_> {
    fn shown(&self, service: &str) -> String {
        self.url
            .map(str::to_string)
            .unwrap_or_else(|| format!("{service}.{}.amazonaws.com", self.region))
    }
}

fn timeouts() -> Result<(RetryConfig, TimeoutConfig)> {
    let attempt = attempt_timeout()?;
    Ok((
        RetryConfig::standard().with_max_attempts(3),
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5).min(attempt))
            .operation_attempt_timeout(attempt)
            .build(),
    ))
}

fn portal(endpoint: &Endpoint) -> Result<aws_sdk_sso::Client> {
    if let Some(url) = endpoint.url {
        super::check_endpoint("AWS_ENDPOINT_URL_SSO", url)?;
    }
    crate::debug!(
        "the IAM Identity Center portal at {} gets the access token",
        super::shown(endpoint.url, "portal.sso", endpoint.region)
    );
    let (retry, timeout) = timeouts()?;
    let mut config = aws_sdk_sso::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::sts::aws::http_client())
        .region(Region::new(endpoint.region.to_string()))
        .retry_config(retry)
        .timeout_config(timeout);
    if let Some(url) = endpoint.url {
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_sso::Client::from_conf(config.build()))
}

fn oidc(endpoint: &Endpoint) -> Result<aws_sdk_ssooidc::Client> {
    use aws_sdk_ssooidc::config as c;
    if let Some(url) = endpoint.url {
        super::check_endpoint("AWS_ENDPOINT_URL_SSO_OIDC", url)?;
    }
    crate::debug!(
        "SSO OIDC at {} gets the client secret (and a code or refresh token)",
        super::shown(endpoint.url, "oidc", endpoint.region)
    );
    let attempt = attempt_timeout()?;
    let mut config = c::Builder::new()
        .behavior_version(c::BehaviorVersion::latest())
        .http_client(crate::sts::aws::http_client())
        .region(c::Region::new(endpoint.region.to_string()))
        // A refresh or a token poll is never retried blindly: a refresh token is single-use.
        .retry_config(c::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            c::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5).min(attempt))
                .operation_attempt_timeout(attempt)
                .build(),
        );
    if let Some(url) = endpoint.url {
        config = config.endpoint_url(url);
    }
    Ok(aws_sdk_ssooidc::Client::from_conf(config.build()))
}

/// A failed call: AWS's error code and message, or no answer at all.
#[derive(Debug)]
pub enum Failure {
    Service { code: String, message: String },
    Unreachable(String),
}

impl<E: ProvideErrorMetadata + std::error::Error + 'static, R> From<SdkError<E, R>> for Failure
where
    R: std::fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Failure {
        match &e {
            SdkError::ServiceError(service) => Failure::Service {
                code: service.err().code().unwrap_or("Unknown").to_string(),
                message: service.err().message().unwrap_or_default().to_string(),
            },
            _ => Failure::Unreachable(sources(&e)),
        }
    }
}

impl Failure {
    pub fn code(&self) -> Option<&str> {
        match self {
            Failure::Service { code, .. } => Some(code),
            Failure::Unreachable(_) => None,
        }
    }

    pub fn into_error(self, operation: &str, endpoint: &Endpoint, service: &str) -> Error {
        match self {
            Failure::Service { code, message } => Error::Sso {
                operation: operation.to_string(),
                code,
                message,
            },
            Failure::Unreachable(problem) => Error::ServiceUnreachable {
                service: SERVICE,
                endpoint: endpoint.shown(service),
                problem,
            },
        }
    }
}

/// GetRoleCredentials: the role's credentials for the token's user.
pub fn role_credentials(
    endpoint: &Endpoint,
    token: &SecretString,
    account_id: &str,
    role_name: &str,
) -> Result<std::result::Result<Credentials, Failure>> {
    let client = portal(endpoint)?;
    let out = runtime().block_on(
        client
            .get_role_credentials()
            .access_token(token.expose_secret())
            .account_id(account_id)
            .role_name(role_name)
            .send(),
    );
    Ok(match out {
        Err(e) => Err(Failure::from(e)),
        Ok(out) => {
            let c = out.role_credentials;
            let expiration = c.as_ref().map_or(0, |c| c.expiration);
            let (id, secret, token) = c
                .map(|c| (c.access_key_id, c.secret_access_key, c.session_token))
                .unwrap_or_default();
            match (id, secret) {
                (Some(id), Some(secret)) => Ok(Credentials {
                    access_key_id: id,
                    secret_access_key: SecretString::from(secret),
                    session_token: token.map(SecretString::from),
                    // The portal gives milliseconds.
                    expiration: u64::try_from(expiration / 1000).ok(),
                }),
                _ => Err(Failure::Service {
                    code: "NoCredentials".to_string(),
                    message: "the response held no role credentials".to_string(),
                }),
            }
        }
    })
}

/// About 20 requests a second is what the portal allows (its documented quota; Granted #458
/// and aws-sso-util #112 fail above it). 18 leaves room for the network's jitter.
const PORTAL_RATE: u32 = 18;
/// Attempts per listing call. The SDK's standard retry backs off between them with full
/// jitter on `TooManyRequestsException`; the pacer below slows every attempt down as well.
const LIST_ATTEMPTS: u32 = 10;
/// Listing calls in flight at once: enough for a far region's latency to keep up the pace.
const IN_FLIGHT: usize = 4;

/// The portal for `sso populate`: every HTTP attempt, the SDK's retries included, is paced
/// to [`PORTAL_RATE`] a second, and an HTTP 429 slows the pace and pauses it a jittered
/// moment. The SDK's adaptive retry is not enough here: its rate limiter starts only after
/// the first throttling error, and its retry quota (500 tokens, shared by every client of
/// the process) can run out in a long listing.
pub struct Portal {
    client: aws_sdk_sso::Client,
    pacer: Arc<Pacer>,
    runtime: tokio::runtime::Runtime,
}

impl Portal {
    pub fn paced(endpoint: &Endpoint) -> Result<Portal> {
        let (_, timeout) = timeouts()?;
        let pacer = Arc::new(Pacer::new(PORTAL_RATE));
        let retry = RetryConfig::standard()
            .with_max_attempts(LIST_ATTEMPTS)
            .with_max_backoff(Duration::from_secs(10));
        let partition = RetryPartition::custom("vault-sso-populate")
            .token_bucket(TokenBucket::unlimited())
            .build();
        let mut config = aws_sdk_sso::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(SharedHttpClient::new(Paced {
                inner: crate::sts::aws::http_client(),
                pacer: pacer.clone(),
            }))
            .region(Region::new(endpoint.region.to_string()))
            .retry_config(retry)
            .retry_partition(partition)
            .timeout_config(timeout);
        if let Some(url) = endpoint.url {
            config = config.endpoint_url(url);
        }
        Ok(Portal {
            client: aws_sdk_sso::Client::from_conf(config.build()),
            pacer,
            runtime: runtime(),
        })
    }

    /// HTTP 429 answers so far.
    pub fn throttled(&self) -> u64 {
        self.pacer.state().throttled
    }

    /// ListAccounts: every account the token's user can use, `(id, name)`, all pages.
    pub fn accounts(
        &self,
        token: &SecretString,
    ) -> std::result::Result<Vec<(String, String)>, Failure> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            let mut pages = self
                .client
                .list_accounts()
                .access_token(token.expose_secret())
                .into_paginator()
                .page_size(100)
                .items()
                .send();
            while let Some(item) = pages.next().await {
                let item = item.map_err(Failure::from)?;
                out.push((
                    item.account_id.unwrap_or_default(),
                    item.account_name.unwrap_or_default(),
                ));
            }
            Ok(out)
        })
    }

    /// ListAccountRoles of each account, in the order given, [`IN_FLIGHT`] at a time;
    /// `progress` hears how many accounts are done after each. The first failure stops it.
    pub fn roles(
        &self,
        token: &SecretString,
        accounts: &[String],
        progress: &dyn Fn(usize),
    ) -> std::result::Result<Vec<Vec<String>>, Failure> {
        let next = Cell::new(0);
        let done = Cell::new(0);
        let failed: RefCell<Option<Failure>> = RefCell::new(None);
        let found: RefCell<Vec<Vec<String>>> = RefCell::new(vec![Vec::new(); accounts.len()]);
        let worker = || async {
            while failed.borrow().is_none() && next.get() < accounts.len() {
                let at = next.get();
                next.set(at + 1);
                match self.account_roles(token, &accounts[at]).await {
                    Ok(roles) => {
                        found.borrow_mut()[at] = roles;
                        done.set(done.get() + 1);
                        progress(done.get());
                    }
                    Err(e) => {
                        failed.borrow_mut().get_or_insert(e);
                    }
                }
            }
        };
        self.runtime
            .block_on(join_all((0..IN_FLIGHT).map(|_| worker()).collect()));
        match failed.into_inner() {
            Some(e) => Err(e),
            None => Ok(found.into_inner()),
        }
    }

    async fn account_roles(
        &self,
        token: &SecretString,
        account_id: &str,
    ) -> std::result::Result<Vec<String>, Failure> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_account_roles()
            .access_token(token.expose_secret())
            .account_id(account_id)
            .into_paginator()
            .page_size(100)
            .items()
            .send();
        while let Some(item) = pages.next().await {
            out.push(item.map_err(Failure::from)?.role_name.unwrap_or_default());
        }
        Ok(out)
    }
}

/// Polls every future until all are done, on the caller's task (no spawning, so they may
/// borrow).
async fn join_all<F: Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(|cx| {
        for slot in futures.iter_mut() {
            if let Some(future) = slot
                && future.as_mut().poll(cx).is_ready()
            {
                *slot = None;
            }
        }
        if futures.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// When the next HTTP attempt may start.
#[derive(Debug)]
struct Pace {
    next: Instant,
    interval: Duration,
    throttled: u64,
}

#[derive(Debug)]
struct Pacer {
    fastest: Duration,
    state: Mutex<Pace>,
}

impl Pacer {
    fn new(per_second: u32) -> Pacer {
        let fastest = Duration::from_secs(1) / per_second;
        Pacer {
            fastest,
            state: Mutex::new(Pace {
                next: Instant::now(),
                interval: fastest,
                throttled: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next start time: one interval after the one before.
    fn slot(&self) -> Instant {
        let mut pace = self.state();
        let at = pace.next.max(Instant::now());
        pace.next = at + pace.interval;
        at
    }

    /// An HTTP 429 doubles the interval (at most a second) and pauses every caller for a
    /// jittered half to one and a half seconds; any other answer brings the interval an
    /// eighth of the way back to the fastest.
    fn answered(&self, status: u16) {
        let mut pace = self.state();
        if status == 429 {
            pace.throttled += 1;
            pace.interval = (pace.interval * 2).min(Duration::from_secs(1));
            let jitter = Duration::from_millis(500 + getrandom::u64().unwrap_or(0) % 1000);
            pace.next = pace.next.max(Instant::now() + jitter);
        } else {
            let above = pace.interval.saturating_sub(self.fastest);
            pace.interval = self.fastest + above * 7 / 8;
        }
    }
}

/// The SDK's HTTP client with a [`Pacer`] in front of every attempt.
#[derive(Debug)]
struct Paced {
    inner: SharedHttpClient,
    pacer: Arc<Pacer>,
}

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Arc<Pacer>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let pacer = self.pacer.clone();
        HttpConnectorFuture::new(async move {
            tokio::time::sleep_until(pacer.slot().into()).await;
            let response = inner.call(request).await;
            if let Ok(answer) = &response {
                pacer.answered(answer.status().as_u16());
            }
            response
        })
    }
}

/// Logout: the portal forgets the token.
pub fn logout(endpoint: &Endpoint, token: &SecretString) -> std::result::Result<(), Failure> {
    let client = portal(endpoint).map_err(|e| Failure::Unreachable(e.to_string()))?;
    runtime()
        .block_on(client.logout().access_token(token.expose_secret()).send())
        .map(|_| ())
        .map_err(Failure::from)
}

/// A client registration (RegisterClient's answer).
pub struct Registration {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Seconds since the epoch.
    pub expires_at: u64,
}

/// RegisterClient, public, with `scopes`; for PKCE with the grant types and redirect URI.
pub fn register(
    endpoint: &Endpoint,
    scopes: &[String],
    pkce: Option<(&str, &str)>,
) -> std::result::Result<Registration, Failure> {
    let client = oidc(endpoint).map_err(|e| Failure::Unreachable(e.to_string()))?;
    let mut call = client
        .register_client()
        .client_name(format!("vault-{}", crate::store::now()))
        .client_type("public")
        .set_scopes((!scopes.is_empty()).then(|| scopes.to_vec()));
    if let Some((redirect, issuer)) = pkce {
        call = call
            .grant_types("authorization_code")
            .grant_types("refresh_token")
            .redirect_uris(redirect)
            .issuer_url(issuer);
    }
    let out = runtime().block_on(call.send()).map_err(Failure::from)?;
    match (out.client_id, out.client_secret) {
        (Some(id), Some(secret)) => Ok(Registration {
            client_id: id,
            client_secret: SecretString::from(secret),
            expires_at: u64::try_from(out.client_secret_expires_at).unwrap_or(0),
        }),
        _ => Err(Failure::Service {
            code: "NoClient".to_string(),
            message: "RegisterClient answered without a client id and secret".to_string(),
        }),
    }
}

/// StartDeviceAuthorization's answer.
pub struct Device {
    pub device_code: SecretString,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    pub interval: u64,
}

pub fn start_device(
    endpoint: &Endpoint,
    registration: &Registration,
    start_url: &str,
) -> std::result::Result<Device, Failure> {
    let client = oidc(endpoint).map_err(|e| Failure::Unreachable(e.to_string()))?;
    let out = runtime()
        .block_on(
            client
                .start_device_authorization()
                .client_id(&registration.client_id)
                .client_secret(registration.client_secret.expose_secret())
                .start_url(start_url)
                .send(),
        )
        .map_err(Failure::from)?;
    Ok(Device {
        device_code: SecretString::from(out.device_code.unwrap_or_default()),
        user_code: out.user_code.unwrap_or_default(),
        verification_uri: out.verification_uri.unwrap_or_default(),
        verification_uri_complete: out.verification_uri_complete,
        expires_in: u64::try_from(out.expires_in).unwrap_or(600).max(1),
        interval: u64::try_from(out.interval).unwrap_or(5).max(1),
    })
}

/// What CreateToken is asked to exchange.
pub enum Grant<'a> {
    Device(&'a SecretString),
    Code {
        code: &'a SecretString,
        verifier: &'a SecretString,
        redirect_uri: &'a str,
    },
    Refresh(&'a SecretString),
}

/// CreateToken's answer.
pub struct Issued {
    pub access_token: SecretString,
    pub expires_in: u64,
    pub refresh_token: Option<SecretString>,
}

pub fn create_token(
    endpoint: &Endpoint,
    client_id: &str,
    client_secret: &SecretString,
    grant: Grant,
) -> std::result::Result<Issued, Failure> {
    let client = oidc(endpoint).map_err(|e| Failure::Unreachable(e.to_string()))?;
    let call = client
        .create_token()
        .client_id(client_id)
        .client_secret(client_secret.expose_secret());
    let call = match grant {
        Grant::Device(code) => call
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(code.expose_secret()),
        Grant::Code {
            code,
            verifier,
            redirect_uri,
        } => call
            .grant_type("authorization_code")
            .code(code.expose_secret())
            .code_verifier(verifier.expose_secret())
            .redirect_uri(redirect_uri),
        Grant::Refresh(token) => call
            .grant_type("refresh_token")
            .refresh_token(token.expose_secret()),
    };
    let out = runtime().block_on(call.send()).map_err(Failure::from)?;
    let Some(access_token) = out.access_token else {
        return Err(Failure::Service {
            code: "NoToken".to_string(),
            message: "CreateToken answered without an access token".to_string(),
        });
    };
    Ok(Issued {
        access_token: SecretString::from(access_token),
        expires_in: u64::try_from(out.expires_in).unwrap_or(0),
        refresh_token: out.refresh_token.map(SecretString::from),
    })
}
