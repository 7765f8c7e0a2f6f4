//! The test-support STS works with the real AWS SDK: keys it bootstrapped are accepted,
//! a wrong secret is refused. Every STS test after this one builds on that.

mod support;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};

fn caller_arn(access_key_id: &str, secret: &str) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The endpoint comes from AWS_ENDPOINT_URL, set by the test below.
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(support::sdk_http_client())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(access_key_id, secret, None, None, "test"))
            .load()
            .await;
        let client = aws_sdk_sts::Client::new(&config);
        match client.get_caller_identity().send().await {
            Ok(identity) => Ok(identity.arn().unwrap_or_default().to_string()),
            Err(e) => Err(format!("{}", aws_sdk_sts::error::DisplayErrorContext(e))),
        }
    })
}

#[test]
fn sdk_reaches_local_sts_through_aws_endpoint_url() {
    let moto = support::Moto::start();
    // SAFETY: the only test in this binary, so no other thread reads the environment.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint) };
    let jane = moto.user("jane");
    let id = jane["access_key_id"].as_str().unwrap();
    let secret = jane["secret_access_key"].as_str().unwrap();

    let arn = caller_arn(id, secret).expect("jane's keys are accepted");
    assert_eq!(arn, "arn:aws:iam::123456789012:user/jane");

    let wrong = format!("{}x", &secret[..secret.len() - 1]);
    let refused = caller_arn(id, &wrong).expect_err("a wrong secret is refused");
    assert!(
        refused.contains("SignatureDoesNotMatch") || refused.contains("InvalidClientTokenId"),
        "{refused}"
    );
}
