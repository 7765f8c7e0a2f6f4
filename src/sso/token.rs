//! An SSO access token and the AWS CLI's JSON form of it (`~/.aws/sso/cache/<sha1>.json`):
//! parsing, writing, and the rules on when it is usable or should be refreshed. Pure: no
//! I/O, the clock is passed in. Must not: let a secret reach `Debug`, an error or a log.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A token this close to expiry is refreshed first (botocore's window; the Rust SDK uses 5
/// minutes, so a token vault refreshed is one the SDK will not refresh again).
pub const REFRESH_WINDOW: u64 = 15 * 60;

/// A token with less than this left is not used for a portal call at all.
pub const MIN_LEFT: u64 = 60;

/// An IAM Identity Center access token and what is needed to refresh it.
#[derive(Clone)]
pub struct Token {
    pub start_url: String,
    pub region: String,
    pub access_token: SecretString,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
    pub refresh_token: Option<SecretString>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub registration_expires_at: Option<u64>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("start_url", &self.start_url)
            .field("region", &self.region)
            .field("expires_at", &self.expires_at)
            .field("refreshable", &self.refreshable(0))
            .finish_non_exhaustive()
    }
}

impl Token {
    pub fn seconds_left(&self, now: u64) -> i64 {
        self.expires_at as i64 - now as i64
    }

    /// Usable for a portal call now.
    pub fn valid(&self, now: u64) -> bool {
        self.seconds_left(now) > MIN_LEFT as i64
    }

    /// Within the refresh window (or expired).
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.seconds_left(now) < REFRESH_WINDOW as i64
    }

    /// Has a refresh token and a registration that has not expired.
    pub fn refreshable(&self, now: u64) -> bool {
        self.refresh_token.is_some()
            && self.client_id.is_some()
            && self.client_secret.is_some()
            && self.registration_expires_at.is_some_and(|e| e > now)
    }
}

/// The AWS CLI's field names. Times are strings; extra fields are ignored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    access_token: String,
    expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registration_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// `2026-12-01T03:00:27Z` (a fraction is fine): UTC with a `Z`, as every SDK reads it.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let bad =
        || format!("`{text}` is not a UTC time like `2026-12-01T03:00:27Z` (the AWS CLI's format)");
    // humantime also takes `+00:00` and a space for `T`; the SDKs do not.
    let shape = text.len() >= 20 && text.as_bytes()[10] == b'T' && text.ends_with('Z');
    if !shape {
        return Err(bad());
    }
    let time = humantime::parse_rfc3339(text).map_err(|_| bad())?;
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| format!("`{text}` is before 1970"))
}

/// Seconds since the epoch as `2026-12-01T03:00:27Z`.
pub fn format_time(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A token file's bytes; the error says what is wrong without quoting a secret. Start URL
/// and region missing from the file (other tools omit them) are taken from the config.
pub fn parse(bytes: &[u8], start_url: &str, region: &str) -> Result<Token, String> {
    let json: CliJson = serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names a field or a position, never a value.
        if e.is_eof() {
            "it is truncated".to_string()
        } else {
            format!("it is not an SSO token file: {e}")
        }
    })?;
    if json.access_token.is_empty() {
        return Err("its `accessToken` is empty".to_string());
    }
    let time = |field: &str, text: &str| parse_time(text).map_err(|e| format!("`{field}`: {e}"));
    let expires_at = time("expiresAt", &json.expires_at)?;
    let registration_expires_at = json
        .registration_expires_at
        .as_deref()
        .map(|t| time("registrationExpiresAt", t))
        .transpose()?;
    Ok(Token {
        start_url: json.start_url.unwrap_or_else(|| start_url.to_string()),
        region: json.region.unwrap_or_else(|| region.to_string()),
        access_token: SecretString::from(json.access_token),
        expires_at,
        refresh_token: json.refresh_token.map(SecretString::from),
        client_id: json.client_id,
        client_secret: json.client_secret.map(SecretString::from),
        registration_expires_at,
    })
}

/// The AWS CLI's JSON for `token`, with `Z` times and the client fields, so that the AWS
/// CLI, botocore, the Rust and Go SDKs can use and refresh it. Secret: callers wipe it.
pub fn to_json(token: &Token) -> zeroize::Zeroizing<Vec<u8>> {
    let json = CliJson {
        start_url: Some(token.start_url.clone()),
        region: Some(token.region.clone()),
        access_token: token.access_token.expose_secret().to_string(),
        expires_at: format_time(token.expires_at),
        client_id: token.client_id.clone(),
        client_secret: token
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string()),
        registration_expires_at: token.registration_expires_at.map(format_time),
        refresh_token: token
            .refresh_token
            .as_ref()
            .map(|s| s.expose_secret().to_string()),
    };
    zeroize::Zeroizing::new(serde_json::to_vec(&json).expect("a token serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://d-1234567890.awsapps.com/start";

    #[test]
    fn reads_what_the_cli_writes() {
        let text =
            br#"{"startUrl": "https://d-1234567890.awsapps.com/start", "region": "us-east-1",
 "accessToken": "AT", "expiresAt": "2026-12-01T03:00:27Z",
 "clientId": "C", "clientSecret": "S", "registrationExpiresAt": "2027-02-19T02:00:27Z",
 "refreshToken": "R"}"#;
        let t = parse(text, URL, "eu-west-1").unwrap();
        assert_eq!(t.region, "us-east-1");
        assert_eq!(t.expires_at, 1_796_094_027);
        assert_eq!(format_time(t.expires_at), "2026-12-01T03:00:27Z");
        assert!(t.refreshable(t.expires_at));
        assert!(!t.refreshable(t.registration_expires_at.unwrap()));
        let back = parse(&to_json(&t), URL, "x").unwrap();
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "R");
        // The Rust SDK writes fractions.
        let rust = br#"{"accessToken":"A","expiresAt":"2026-12-01T03:04:51.40109Z"}"#;
        let t = parse(rust, URL, "eu-west-1").unwrap();
        assert_eq!(t.start_url, URL);
        assert!(!t.refreshable(0));
    }

    #[test]
    fn bad_files_say_what_is_wrong_without_the_token() {
        let check = |bytes: &[u8], expect: &str| {
            let e = parse(bytes, URL, "r").unwrap_err();
            assert!(e.contains(expect), "{e}");
            assert!(!e.contains("SECRET"), "{e}");
        };
        check(
            br#"{"accessToken":"SECRET","expiresAt":"2026-"#,
            "truncated",
        );
        check(b"not json", "not an SSO token file");
        check(br#"{"expiresAt":"2026-12-01T03:00:27Z"}"#, "accessToken");
        for time in [
            "2026-12-01T03:00:27+00:00",
            "2026-12-01T03:00:27UTC",
            "tomorrow",
        ] {
            let text = format!(r#"{{"accessToken":"SECRET","expiresAt":"{time}"}}"#);
            check(text.as_bytes(), "is not a UTC time");
        }
    }

    #[test]
    fn windows() {
        let t = parse(
            br#"{"accessToken":"A","expiresAt":"2026-12-01T03:00:27Z"}"#,
            URL,
            "r",
        )
        .unwrap();
        let at = t.expires_at;
        assert!(t.valid(at - 61) && !t.valid(at - 60));
        assert!(t.needs_refresh(at - 899) && !t.needs_refresh(at - 900));
        let shown = format!("{t:?}");
        assert!(!shown.contains("\"A\""), "{shown}");
    }
}
