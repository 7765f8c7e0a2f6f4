//! IAM for `vault rotate`: whose keys these are, a new access key, deleting the old one; for
//! `vault setup` and `vault doctor`: the user's MFA devices, its access keys and their age,
//! and GetCallerIdentity with the response's `Date` (the clock check).
//! With `aws.rs`, the only module that knows the AWS SDK.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::timeout::TimeoutConfig;
use aws_sdk_iam::config::{BehaviorVersion, Region};
use secrecy::SecretString;

use super::aws::{self, Failure};
use crate::error::{Error, Result};
use crate::store::Credentials;

/// Where IAM is: `AWS_ENDPOINT_URL_IAM`, else `AWS_ENDPOINT_URL`, else the profile's
/// `endpoint_url` (none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true).
pub fn endpoint(
    endpoint_url: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    aws::configured_endpoint("AWS_ENDPOINT_URL_IAM", endpoint_url, &var)
}

/// An IAM client signing with one set of credentials.
pub struct Iam {
    client: aws_sdk_iam::Client,
    runtime: tokio::runtime::Runtime,
    endpoint: Option<String>,
    /// The vault entry the credentials come from, for errors.
    source: String,
    /// Long-lived keys rather than a session.
    long_lived: bool,
}

impl Iam {
    pub fn new(
        credentials: &Credentials,
        region: Option<&str>,
        endpoint: Option<&str>,
        source: &str,
    ) -> Result<Iam> {
        let attempt_timeout = aws::attempt_timeout()?;
        let mut config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(aws::http_client())
            // IAM is global; the region picks the partition (aws, aws-cn, aws-us-gov).
            .region(Region::new(region.unwrap_or("us-east-1").to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(attempt_timeout))
                    .operation_attempt_timeout(attempt_timeout)
                    .build(),
            )
            .credentials_provider(aws::sdk_credentials(credentials));
        if let Some(url) = endpoint {
            config = config.endpoint_url(url);
        }
        Ok(Iam {
            client: aws_sdk_iam::Client::from_conf(config.build()),
            runtime: aws::runtime(),
            endpoint: endpoint.map(str::to_string),
            source: source.to_string(),
            long_lived: credentials.session_token.is_none(),
        })
    }

    /// The name of the IAM user the credentials belong to (GetUser without a name).
    pub fn user_name(&self) -> Result<String> {
        let out = self
            .runtime
            .block_on(self.client.get_user().send())
            .map_err(|e| self.error("iam.GetUser", e.into()))?;
        out.user
            .map(|user| user.user_name)
            .ok_or_else(|| Error::Iam {
                operation: "iam.GetUser",
                code: "NoUser".to_string(),
                message: "the response named no user".to_string(),
            })
    }

    /// A new access key for `user`, with its secret.
    pub fn create_access_key(&self, user: &str) -> Result<Credentials> {
        let out = self
            .runtime
            .block_on(self.client.create_access_key().user_name(user).send())
            .map_err(|e| self.error("iam.CreateAccessKey", e.into()))?;
        let key = out.access_key.ok_or_else(|| Error::Iam {
            operation: "iam.CreateAccessKey",
            code: "NoAccessKey".to_string(),
            message: "the response held no access key".to_string(),
        })?;
        Ok(Credentials::keys(
            key.access_key_id,
            SecretString::from(key.secret_access_key),
        ))
    }

    pub fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<()> {
        self.runtime
            .block_on(
                self.client
                    .delete_access_key()
                    .user_name(user)
                    .access_key_id(access_key_id)
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| self.error("iam.DeleteAccessKey", e.into()))
    }

    /// The serial numbers (ARNs) of the MFA devices assigned to `user` (the caller when
    /// `None`), as IAM lists them.
    pub fn mfa_devices(&self, user: Option<&str>) -> Result<Vec<String>> {
        let out = self
            .runtime
            .block_on(
                self.client
                    .list_mfa_devices()
                    .set_user_name(user.map(str::to_string))
                    .send(),
            )
            .map_err(|e| self.error("iam.ListMFADevices", e.into()))?;
        Ok(out
            .mfa_devices()
            .iter()
            .map(|device| device.serial_number().to_string())
            .collect())
    }

    /// The access keys of `user` (the caller when `None`): id, `Active`/`Inactive`, created.
    pub fn access_keys(&self, user: Option<&str>) -> Result<Vec<AccessKey>> {
        let out = self
            .runtime
            .block_on(
                self.client
                    .list_access_keys()
                    .set_user_name(user.map(str::to_string))
                    .send(),
            )
            .map_err(|e| self.error("iam.ListAccessKeys", e.into()))?;
        Ok(out
            .access_key_metadata()
            .iter()
            .map(|key| AccessKey {
                id: key.access_key_id().unwrap_or_default().to_string(),
                active: key.status().is_some_and(|s| s.as_str() == "Active"),
                created: key
                    .create_date()
                    .and_then(|date| SystemTime::try_from(*date).ok()),
            })
            .collect())
    }

    fn error(&self, operation: &'static str, failure: Failure) -> Error {
        let endpoint = || {
            self.endpoint
                .clone()
                .unwrap_or_else(|| "the AWS IAM endpoint".to_string())
        };
        match failure {
            Failure::Unreachable(problem) => Error::ServiceUnreachable {
                service: "IAM",
                endpoint: endpoint(),
                problem,
            },
            Failure::BadResponse(problem) => Error::ServiceBadResponse {
                service: "IAM",
                endpoint: endpoint(),
                problem,
            },
            Failure::Service { code, .. } if self.long_lived && aws::refused_keys(&code) => {
                Error::KeysRefused {
                    source: self.source.clone(),
                    code,
                }
            }
            Failure::Service { code, message } => Error::Iam {
                operation,
                code,
                message,
            },
            Failure::Other(message) => Error::Iam {
                operation,
                code: "Error".to_string(),
                message,
            },
        }
    }
}

/// One access key, as ListAccessKeys describes it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub active: bool,
    pub created: Option<SystemTime>,
}

/// Who the credentials belong to, and when STS says it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub arn: String,
    pub account: String,
    /// The response's `Date` header: STS's clock, to the second.
    pub date: Option<SystemTime>,
}

/// GetCallerIdentity, keeping the response's `Date` (for `doctor`'s clock check). Refused
/// keys are named as `source`'s.
pub fn caller_identity_dated(
    credentials: &Credentials,
    region: Option<&str>,
    endpoint: Option<&str>,
    source: &str,
) -> Result<Identity> {
    let client = aws::client(region, endpoint, Some(credentials), aws::attempt_timeout()?);
    let date = DateHeader::default();
    let seen = date.0.clone();
    let out = aws::runtime()
        .block_on(
            client
                .get_caller_identity()
                .customize()
                .interceptor(date)
                .send(),
        )
        .map_err(|e| {
            Failure::from(e).into_plain_error("sts.GetCallerIdentity", endpoint, source)
        })?;
    let date = seen
        .lock()
        .ok()
        .and_then(|text| text.clone())
        .and_then(|text| {
            aws_smithy_types::DateTime::from_str(
                &text,
                aws_smithy_types::date_time::Format::HttpDate,
            )
            .ok()
        })
        .and_then(|date| SystemTime::try_from(date).ok());
    Ok(Identity {
        arn: out.arn.unwrap_or_default(),
        account: out.account.unwrap_or_default(),
        date,
    })
}

/// Keeps the `Date` header of the response (the last attempt's).
#[derive(Debug, Default)]
struct DateHeader(Arc<Mutex<Option<String>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for DateHeader {
    fn name(&self) -> &'static str {
        "vault::DateHeader"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> std::result::Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(date) = context.response().headers().get("date")
            && let Ok(mut seen) = self.0.lock()
        {
            *seen = Some(date.to_string());
        }
        Ok(())
    }
}
