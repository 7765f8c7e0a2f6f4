//! Sign-in sessions (`login_session`, what `aws login` makes): a console sign-in turned into
//! 15-minute credentials renewed for up to 12 hours with a refresh token bound to a DPoP key
//! (../shared/notes/aws-login.md). This room holds the pure pieces: the AWS CLI's cache file
//! (`token`), DPoP proofs (`dpop`), the browser step (`authorize`), what the service's errors
//! mean (`errors`), the endpoint rule (here); the one HTTPS call (`aws`); where tokens live
//! and their locks (`cache`); one refresh for every caller (`session`); signing in (`login`).
//! Must not: know SDK types outside `aws.rs`, be reached on the warm path, or let a token,
//! key or code reach an error, a log or argv.

pub mod authorize;
pub mod aws;
pub mod cache;
pub mod dpop;
pub mod errors;
pub mod login;
pub mod session;
pub mod token;

/// The AWS CLI's OAuth client for a sign-in that comes back to a loopback callback.
pub const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
/// ... and for one finished on another device, with a pasted code.
pub const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";

/// The variable that points the Sign-In service elsewhere (the SDKs' service-specific one).
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_SIGNIN";

/// Where the Sign-In service is: `scheme://host[:port]`, with `/v1/authorize` and
/// `/v1/token` at its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub base: String,
}

impl Endpoint {
    /// `CreateOAuth2Token`'s URL, exactly as the request is sent (the DPoP proof's `htu`).
    pub fn token_url(&self) -> String {
        format!("{}/v1/token", self.base)
    }
}

/// `AWS_ENDPOINT_URL_SIGNIN`, else `https://{region}.signin.aws.amazon.com` (the partition's
/// domain for `cn-*` and `us-gov-*`). Tokens go only to https, or to loopback http when
/// that variable names it (issue 12's rule); the global `AWS_ENDPOINT_URL` is not followed.
/// As the AWS CLI builds the authorize URL, only `scheme://host[:port]` of an override is
/// kept. The error is the problem, for a `BadValue` of the variable or the region.
pub fn endpoint(region: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, String> {
    let ignore = var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if let Some(url) = var(ENDPOINT_VARIABLE).filter(|v| !v.trim().is_empty() && !ignore) {
        return override_base(url.trim()).map(|base| Endpoint { base });
    }
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(format!(
            "`{region}` is not an AWS region name like `eu-west-1`"
        ));
    }
    let domain = if region.starts_with("cn-") {
        "signin.amazonaws.cn"
    } else if region.starts_with("us-gov-") {
        "signin.amazonaws-us-gov.com"
    } else {
        "signin.aws.amazon.com"
    };
    Ok(Endpoint {
        base: format!("https://{region}.{domain}"),
    })
}

fn override_base(url: &str) -> Result<String, String> {
    let bad = |why: &str| format!("`{url}` {why}");
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("is not a URL like `https://host`"))?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("has no host (or has user information)"));
    }
    if !authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return Err(bad("has characters a host name cannot have"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match scheme.as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "is http to a host that is not this machine: sign-in tokens go only to https, or to http on 127.0.0.1",
            ));
        }
        _ => return Err(bad("is not an https URL")),
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_default_endpoint_is_the_regions() {
        let at = |region| endpoint(region, &env(&[])).map(|e| e.token_url());
        assert_eq!(
            at("eu-west-1").unwrap(),
            "https://eu-west-1.signin.aws.amazon.com/v1/token"
        );
        assert_eq!(
            at("cn-north-1").unwrap(),
            "https://cn-north-1.signin.amazonaws.cn/v1/token"
        );
        assert_eq!(
            at("us-gov-west-1").unwrap(),
            "https://us-gov-west-1.signin.amazonaws-us-gov.com/v1/token"
        );
        for bad in ["", "EU-WEST-1", "evil.example.com/x", "a b"] {
            assert!(
                at(bad).unwrap_err().contains("is not an AWS region"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_override_is_followed_to_https_or_loopback_http_only() {
        let at = |url: &'static str| {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(ENDPOINT_VARIABLE, url)]));
            endpoint("eu-west-1", &env(pairs))
        };
        assert_eq!(
            at("http://127.0.0.1:4567").unwrap().token_url(),
            "http://127.0.0.1:4567/v1/token"
        );
        assert_eq!(
            at("https://Signin.Example.com/some/path?q").unwrap().base,
            "https://signin.example.com"
        );
        assert_eq!(
            at("http://localhost:1/").unwrap().base,
            "http://localhost:1"
        );
        assert_eq!(at("http://[::1]:9").unwrap().base, "http://[::1]:9");
        for (url, why) in [
            ("http://signin.example.com", "not this machine"),
            ("http://10.0.0.1:80", "not this machine"),
            ("ftp://x", "not an https URL"),
            ("signin.example.com", "not a URL"),
            ("https://user@host", "no host"),
            ("https:///path", "no host"),
            ("https://ho st", "cannot have"),
        ] {
            assert!(at(url).unwrap_err().contains(why), "{url}");
        }
    }

    #[test]
    fn the_global_endpoint_variable_is_not_followed() {
        let e = endpoint(
            "eu-west-1",
            &env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]),
        );
        assert_eq!(e.unwrap().base, "https://eu-west-1.signin.aws.amazon.com");
        let e = endpoint(
            "eu-west-1",
            &env(&[
                (ENDPOINT_VARIABLE, "http://127.0.0.1:1"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ]),
        );
        assert_eq!(e.unwrap().base, "https://eu-west-1.signin.aws.amazon.com");
    }
}
