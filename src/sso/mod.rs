//! IAM Identity Center (SSO): a session's token (from vault's store, the AWS CLI's cache, a
//! refresh or a login, one at a time per session across processes) and the role
//! credentials it buys (GetRoleCredentials). Must not: know SDK types outside `aws.rs`, be
//! reached when a cached role session is fresh (the warm path), or let a token reach an
//! error, a log or argv.

pub mod aws;
pub mod cache;
pub mod login;
pub mod token;

use std::path::PathBuf;

use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::store::{self, Credentials, Store};
use token::Token;

/// The default registration scope: with it AWS issues a refresh token (without, a login
/// lasts 8 hours and cannot be refreshed).
pub const DEFAULT_SCOPE: &str = "sso:account:access";

/// One login: an `[sso-session]` (by name) or a legacy profile's start URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: Option<String>,
    pub start_url: String,
    pub region: String,
    /// `sso_registration_scopes`, or the default scope.
    pub scopes: Vec<String>,
}

impl Session {
    /// The session a GetRoleCredentials step signs in with.
    pub fn of(call: &crate::sts::plan::Call) -> Option<Session> {
        match call {
            crate::sts::plan::Call::SsoGetRoleCredentials {
                session,
                start_url,
                sso_region,
                scopes,
                ..
            } => Some(Session {
                name: session.clone(),
                start_url: start_url.clone(),
                region: sso_region.clone(),
                scopes: scopes.clone(),
            }),
            _ => None,
        }
    }

    /// What the token is filed under: the session's name, else the start URL as written.
    pub fn key(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.start_url)
    }

    /// `sso:<session or start URL>`, as `list` shows it.
    pub fn label(&self) -> String {
        format!("sso:{}", self.key())
    }

    /// The label as store entries carry it (the `source` of the role sessions, the
    /// `profile` of the sign-in's entries): see [`store_label`].
    pub fn store_label(&self) -> String {
        store_label(self.key())
    }

    /// A digest of what identifies the login, for store entries and lock files.
    pub fn digest(&self) -> String {
        use blake2::{Blake2s256, Digest};
        let text = serde_json::to_string(&(self.key(), &self.start_url, &self.region))
            .expect("strings serialize");
        store::crypto::hex(&Blake2s256::digest(text.as_bytes())[..12])
    }
}

/// `sso:<session or start URL>` within the store's name rules: a character they do not
/// allow (a start URL's `#`, `?`, `=` or `~`) is percent-encoded, else the entry would be
/// written but never listed, so `list`, `clear` and `sso logout` would not see it. A label
/// that passes is kept as it is, so entries written before keep their names. Only a name:
/// the entries' digests come from the session's own values.
pub fn store_label(key: &str) -> String {
    let mut out = String::from("sso:");
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c) {
            out.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// `sso_registration_scopes = a, b`: trimmed, empties dropped (the AWS CLI's rule); none
/// given means the default scope.
pub fn parse_scopes(text: Option<&str>) -> Vec<String> {
    let scopes: Vec<String> = text
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        vec![DEFAULT_SCOPE.to_string()]
    } else {
        scopes
    }
}

/// Where SSO OIDC and the portal are: `AWS_ENDPOINT_URL_SSO_OIDC` / `AWS_ENDPOINT_URL_SSO`
/// as written (none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true), else the SDK's
/// endpoints for the session's `sso_region`. Never the global `AWS_ENDPOINT_URL` or a
/// profile's `endpoint_url`, which the AWS CLI also follows: they are set for the command
/// vault wraps (an emulator), and these calls carry the person's sign-in. [`endpoint`]
/// checks the value; the SDK clients (`aws.rs`) check it again.
pub fn endpoint_url(
    service_variable: &str,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    let url = var(service_variable).filter(|v| !v.is_empty());
    if url.is_none() && var("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty()) {
        crate::debug!(
            "AWS_ENDPOINT_URL is not used for IAM Identity Center (only {service_variable} is): it would get the sign-in's tokens"
        );
    }
    url
}

/// [`endpoint_url`], checked with [`check_endpoint`].
pub fn endpoint(
    service_variable: &'static str,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    let url = endpoint_url(service_variable, var);
    if let Some(url) = &url {
        check_endpoint(service_variable, url)?;
    }
    Ok(url)
}

/// Tokens, client secrets and codes go only to `https://`, or to `http://` on 127.0.0.1, `::1`
/// or localhost (an emulator the service-specific variable names; another user could listen
/// there too, but the person chose it).
pub fn check_endpoint(variable: &'static str, url: &str) -> Result<()> {
    let refused = |problem: &str| Error::SsoEndpoint {
        variable,
        url: url.to_string(),
        problem: problem.to_string(),
    };
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err(refused("it is not an https URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') || authority.is_empty() {
        return Err(refused("it has no plain host"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if !https && !is_loopback(host) {
        return Err(refused(
            "it is http to another host; the sign-in's tokens would cross the network in the clear",
        ));
    }
    Ok(())
}

/// 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The endpoint as `--debug` names it: the override, else the SDK's default for the region.
pub fn shown(url: Option<&str>, service: &str, region: &str) -> String {
    url.map(str::to_string)
        .unwrap_or_else(|| format!("https://{service}.{region}.amazonaws.com"))
}

/// What the SSO steps need from the command that runs them.
pub struct Context<'a> {
    pub store: &'a mut dyn Store,
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// Write tokens to `~/.aws/sso/cache` too.
    pub shared_cache: bool,
    /// Folder of the lock files.
    pub locks: PathBuf,
    /// The profile being used, for the `vault sso login PROFILE` hint.
    pub profile: String,
    /// How a login goes when one is needed; `None`: no person can be asked.
    pub login: Option<login::Options>,
}

impl Context<'_> {
    fn oidc_url(&self) -> Result<Option<String>> {
        endpoint("AWS_ENDPOINT_URL_SSO_OIDC", self.var)
    }

    fn portal_url(&self) -> Result<Option<String>> {
        endpoint("AWS_ENDPOINT_URL_SSO", self.var)
    }

    fn no_login(&self, session: &Session, problem: &str) -> Error {
        Error::SsoLogin {
            session: session.key().to_string(),
            profile: self.profile.clone(),
            problem: problem.to_string(),
        }
    }

    /// Keeps a new token: vault's store, and the shared cache when asked to.
    fn save(&mut self, session: &Session, token: &Token) -> Result<()> {
        cache::write_stored(self.store, session, token)?;
        if self.shared_cache {
            cache::write_shared(session, token)?;
        }
        Ok(())
    }

    /// The usable tokens there are, vault's first; a shared file that cannot be read is
    /// reported as `bad` (and left as it is).
    fn cached(&mut self, session: &Session, refused: Option<&str>) -> Result<Found> {
        use secrecy::ExposeSecret;
        let not_refused = |t: &Token| refused != Some(t.access_token.expose_secret());
        let stored = cache::read_stored(self.store, session)?.filter(not_refused);
        let (shared, bad) = match cache::read_shared(session) {
            Ok(token) => (token.filter(not_refused), None),
            Err(e) => (None, Some(e)),
        };
        // Whichever lasts longer: the AWS CLI may have logged in since vault did.
        let best = match (stored, shared) {
            (Some(a), Some(b)) => Some(if b.expires_at > a.expires_at { b } else { a }),
            (a, b) => a.or(b),
        };
        Ok(Found { best, bad })
    }

    /// A token good for a portal call: cached, else refreshed, else a login (one at a
    /// time per session, across processes: the others wait, then use its result).
    pub fn token(&mut self, session: &Session, refused: Option<&str>) -> Result<Token> {
        let now = store::now();
        if refused.is_none() {
            let found = self.cached(session, None)?;
            if let Some(token) = found.best.filter(|t| !t.needs_refresh(now)) {
                crate::debug!("SSO token for `{}`: cached", session.key());
                return Ok(token);
            }
        }
        let held = cache::lock(&self.locks, session)
            .inspect_err(|e| crate::debug!("no SSO lock, going on without: {e}"))
            .ok();
        // Another vault may have logged in or refreshed while this one waited.
        let found = self.cached(session, refused)?;
        let now = store::now();
        if let Some(token) = &found.best {
            if !token.needs_refresh(now) {
                crate::debug!("SSO token for `{}`: made by another vault", session.key());
                return Ok(token.clone());
            }
            if token.refreshable(now) {
                match self.refresh(session, token) {
                    Ok(token) => return Ok(token),
                    Err(e) => crate::debug!("SSO token refresh failed: {e}"),
                }
            }
            if token.valid(now) {
                return Ok(token.clone());
            }
        }
        let Some(options) = self.login.clone() else {
            drop(held);
            return Err(match found.bad {
                Some(bad) if found.best.is_none() => bad,
                _ => self.no_login(
                    session,
                    if refused.is_some() {
                        "the portal refused the token"
                    } else if found.best.is_some() {
                        "the token has expired and could not be refreshed"
                    } else {
                        "not logged in"
                    },
                ),
            });
        };
        self.check_shared()?;
        let token = login::login(self, session, &options)?;
        self.save(session, &token)?;
        drop(held);
        Ok(token)
    }

    /// `vault sso login`: a new sign-in whatever is cached (as `aws sso login` does), under
    /// the session's lock, then saved.
    pub fn login_now(&mut self, session: &Session) -> Result<()> {
        let options = self.login.clone().unwrap_or_default();
        let _held = cache::lock(&self.locks, session)
            .inspect_err(|e| crate::debug!("no SSO lock, going on without: {e}"))
            .ok();
        self.check_shared()?;
        let token = login::login(self, session, &options)?;
        self.save(session, &token)
    }

    /// A shared cache the token would be written to is checked before anyone signs in.
    fn check_shared(&self) -> Result<()> {
        if self.shared_cache {
            cache::check_shared_dir(&cache::shared_dir())?;
        }
        Ok(())
    }

    /// Every token cached for the session (vault's, the shared file's), for logout.
    pub fn tokens(&mut self, session: &Session) -> Result<Vec<Token>> {
        let mut tokens: Vec<Token> = cache::read_stored(self.store, session)?
            .into_iter()
            .collect();
        if let Ok(Some(shared)) = cache::read_shared(session) {
            use secrecy::ExposeSecret;
            if !tokens
                .iter()
                .any(|t| t.access_token.expose_secret() == shared.access_token.expose_secret())
            {
                tokens.push(shared);
            }
        }
        Ok(tokens)
    }

    /// CreateToken with the refresh token; the new token is saved. Called under the lock.
    fn refresh(&mut self, session: &Session, old: &Token) -> Result<Token> {
        let (Some(client_id), Some(secret), Some(refresh)) = (
            old.client_id.as_deref(),
            old.client_secret.as_ref(),
            old.refresh_token.as_ref(),
        ) else {
            return Err(self.no_login(session, "the token cannot be refreshed"));
        };
        let url = self.oidc_url()?;
        let endpoint = aws::Endpoint {
            region: &session.region,
            url: url.as_deref(),
        };
        crate::debug!(
            "SSO token for `{}`: refreshing at {} (it gets the refresh token)",
            session.key(),
            shown(url.as_deref(), "oidc", &session.region)
        );
        let issued = aws::create_token(&endpoint, client_id, secret, aws::Grant::Refresh(refresh))
            .map_err(|e| e.into_error("sso-oidc.CreateToken", &endpoint, "oidc"))?;
        let token = Token {
            start_url: session.start_url.clone(),
            region: session.region.clone(),
            access_token: issued.access_token,
            expires_at: store::now() + issued.expires_in,
            // botocore keeps only a refresh token the answer holds; AWS rotates them.
            refresh_token: issued.refresh_token.or_else(|| old.refresh_token.clone()),
            client_id: old.client_id.clone(),
            client_secret: old.client_secret.clone(),
            registration_expires_at: old.registration_expires_at,
        };
        self.save(session, &token)?;
        Ok(token)
    }

    /// GetRoleCredentials for `account_id`/`role_name` with the session's token. A token
    /// the portal refuses (401) is dropped, and one new login is tried when a person can
    /// be asked.
    pub fn role_credentials(
        &mut self,
        session: &Session,
        account_id: &str,
        role_name: &str,
    ) -> Result<Credentials> {
        let url = self.portal_url()?;
        let mut refused: Option<SecretString> = None;
        loop {
            use secrecy::ExposeSecret;
            let token = self.token(session, refused.as_ref().map(|t| t.expose_secret()))?;
            let endpoint = aws::Endpoint {
                region: &session.region,
                url: url.as_deref(),
            };
            crate::debug!(
                "SSO GetRoleCredentials {account_id}/{role_name} at {}",
                shown(url.as_deref(), "portal.sso", &session.region)
            );
            match aws::role_credentials(&endpoint, &token.access_token, account_id, role_name)? {
                Ok(credentials) => return Ok(credentials),
                Err(failure) if failure.code() == Some("UnauthorizedException") => {
                    crate::debug!("the portal refused the SSO token; dropping it");
                    cache::remove_stored(self.store, session)?;
                    if self.shared_cache {
                        cache::remove_shared(session)?;
                    }
                    if refused.is_some() || self.login.is_none() {
                        return Err(self.no_login(session, "the portal refused the token"));
                    }
                    refused = Some(token.access_token.clone());
                }
                Err(failure) => {
                    return Err(failure.into_error(
                        "sso.GetRoleCredentials",
                        &endpoint,
                        "portal.sso",
                    ));
                }
            }
        }
    }
}

struct Found {
    best: Option<Token>,
    bad: Option<Error>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(parse_scopes(None), [DEFAULT_SCOPE]);
        assert_eq!(parse_scopes(Some(" , ")), [DEFAULT_SCOPE]);
        assert_eq!(parse_scopes(Some("a, b,,c ")), ["a", "b", "c"]);
    }

    #[test]
    fn store_labels_pass_the_store_s_name_rules() {
        let valid = crate::config::profiles::is_valid_name;
        for (key, label) in [
            ("my-sso", "sso:my-sso"),
            (
                "https://d-1234567890.awsapps.com/start",
                "sso:https://d-1234567890.awsapps.com/start",
            ),
            (
                "https://d-1234567890.awsapps.com/start/#/",
                "sso:https://d-1234567890.awsapps.com/start/%23/",
            ),
            (
                "https://x.example/start?a=b&c~d",
                "sso:https://x.example/start%3Fa%3Db%26c%7Ed",
            ),
            ("two words", "sso:two%20words"),
            ("é", "sso:%C3%A9"),
        ] {
            assert_eq!(store_label(key), label, "{key}");
            assert!(valid(&store_label(key)), "{key}");
        }
    }

    #[test]
    fn endpoints() {
        let var = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some("http://all".to_string()),
            "AWS_ENDPOINT_URL_SSO" => Some("http://localhost:4566".to_string()),
            _ => None,
        };
        assert_eq!(
            endpoint("AWS_ENDPOINT_URL_SSO", &var).unwrap().unwrap(),
            "http://localhost:4566"
        );
        // Review 2, finding 6: the global variable is not followed.
        assert_eq!(endpoint("AWS_ENDPOINT_URL_SSO_OIDC", &var).unwrap(), None);
        assert_eq!(endpoint("AWS_ENDPOINT_URL_SSO", &|_| None).unwrap(), None);
        let ignored = |name: &str| match name {
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" => Some("TRUE".to_string()),
            _ => var(name),
        };
        assert_eq!(endpoint("AWS_ENDPOINT_URL_SSO", &ignored).unwrap(), None);
    }

    #[test]
    fn tokens_go_to_https_or_loopback_http_only() {
        for url in [
            "https://portal.sso.eu-west-1.amazonaws.com",
            "https://sso.example.com:8443/x",
            "http://127.0.0.1:4566",
            "http://127.1.2.3:4566/",
            "http://localhost:4566",
            "http://LOCALHOST",
            "http://[::1]:4566",
        ] {
            assert!(check_endpoint("V", url).is_ok(), "{url}");
        }
        for url in [
            "http://10.0.0.1:4566",
            "http://localstack:4566",
            "http://localhost.example.com",
            "http://127.0.0.1@evil.example:80",
            "http://[::2]:1",
            "ftp://127.0.0.1",
            "https://",
            "localhost:4566",
            "--x",
        ] {
            let e = check_endpoint("V", url).unwrap_err().to_string();
            assert!(
                e.starts_with("vault will not send IAM Identity Center tokens to `"),
                "{url}: {e}"
            );
        }
    }
}
