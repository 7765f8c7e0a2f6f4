//! `credential_source = Ec2InstanceMetadata | EcsContainer`: the base credentials of a chain,
//! from aws-config's own IMDS and container providers, which read their endpoints from the
//! environment as every SDK does (`AWS_EC2_METADATA_SERVICE_ENDPOINT`,
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`/`_RELATIVE_URI` and the token). One of the modules
//! that know the SDK; called only when a profile names such a source, never on the warm path
//! of a cached session.

use std::time::UNIX_EPOCH;

use aws_credential_types::provider::ProvideCredentials;
use secrecy::SecretString;

use super::aws::runtime;
use crate::error::{Error, Result};
use crate::store::Credentials;

/// Where the credentials come from, as `credential_source` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Ec2InstanceMetadata,
    EcsContainer,
}

/// The provider's credentials; a failure is named as `profile`'s.
pub fn credentials(provider: Provider, profile: &str) -> Result<Credentials> {
    let provider_config = aws_config::provider_config::ProviderConfig::default()
        .with_http_client(super::aws::http_client());
    let result = runtime().block_on(async {
        match provider {
            Provider::Ec2InstanceMetadata => {
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build()
                    .provide_credentials()
                    .await
            }
            Provider::EcsContainer => {
                aws_config::ecs::EcsCredentialsProvider::builder()
                    .configure(&provider_config)
                    .build()
                    .provide_credentials()
                    .await
            }
        }
    });
    let credentials = result.map_err(|e| Error::CredentialSource {
        profile: profile.to_string(),
        source: format!("{provider:?}"),
        problem: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
    })?;
    Ok(Credentials {
        access_key_id: credentials.access_key_id().to_string(),
        secret_access_key: SecretString::from(credentials.secret_access_key().to_string()),
        session_token: credentials
            .session_token()
            .map(|t| SecretString::from(t.to_string())),
        expiration: credentials
            .expiry()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    })
}
