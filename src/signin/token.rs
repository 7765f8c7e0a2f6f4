//! A sign-in session's token: the AWS CLI's cache file
//! (`~/.aws/login/cache/<sha256 of login_session>.json`, or `AWS_LOGIN_CACHE_DIRECTORY`)
//! read and written in its exact format, the service's token answer, and the refresh rule.
//! Pure: no I/O, the clock is passed in. Must not: let a secret (keys, session token,
//! refresh token, id token, the DPoP key) reach `Debug`, an error or a log.

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::dpop::Key;
use crate::store::Credentials;

/// Refreshed when this little is left, as botocore and the Rust SDK do (5 minutes of the
/// 15 the credentials last), so all of them agree on when a refresh is due.
pub const REFRESH_WINDOW: u64 = 5 * 60;

/// The most a cache file may hold (a real one is about 4 KiB).
pub const MAX_FILE: u64 = 64 * 1024;

/// A sign-in session as it is cached: 15-minute credentials and what renews them.
#[derive(Clone)]
pub struct LoginToken {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    /// The session ARN's account (12 digits).
    pub account_id: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
    /// `arn:aws:signin:::devtools/same-device` or `.../cross-device`.
    pub client_id: String,
    pub refresh_token: SecretString,
    pub id_token: Option<SecretString>,
    pub token_type: Option<String>,
    pub dpop_key: Key,
    /// The region the session was signed in to (`signInRegion`, which botocore 1.44 reads):
    /// refreshes go there. Absent in files older clients wrote.
    pub sign_in_region: Option<String>,
    /// Members of the file vault does not know, kept for the write back.
    extra: Map<String, Value>,
    /// The same inside `accessToken`.
    extra_access: Map<String, Value>,
}

impl fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginToken")
            .field("access_key_id", &self.access_key_id)
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .field("client_id", &self.client_id)
            .field("sign_in_region", &self.sign_in_region)
            .finish_non_exhaustive()
    }
}

impl LoginToken {
    pub fn seconds_left(&self, now: u64) -> i64 {
        self.expires_at as i64 - now as i64
    }

    /// 5 minutes or less left (or expired): refresh before use.
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.seconds_left(now) <= REFRESH_WINDOW as i64
    }

    /// The credentials can still sign a call.
    pub fn valid(&self, now: u64) -> bool {
        self.seconds_left(now) > 0
    }

    /// The session's credentials, as the rest of vault takes them.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: Some(self.session_token.clone()),
            expiration: Some(self.expires_at),
        }
    }

    /// A new sign-in's token: the code grant's answer, the key that signed it, and the
    /// region it was made in. The session's name is the id token's `sub`.
    pub fn signed_in(
        answer: Answer,
        key: Key,
        client_id: &str,
        region: &str,
        now: u64,
    ) -> Result<(String, LoginToken), String> {
        let id_token = answer
            .id_token
            .ok_or("the sign-in answer has no `idToken`")?;
        let session = id_token_subject(id_token.expose_secret())?;
        let account_id = arn_account(&session)
            .ok_or_else(|| {
                format!("the id token's `sub` `{session}` is not an ARN with an account")
            })?
            .to_string();
        let token = LoginToken {
            access_key_id: answer.access_key_id,
            secret_access_key: answer.secret_access_key,
            session_token: answer.session_token,
            account_id,
            expires_at: now + answer.expires_in,
            client_id: client_id.to_string(),
            refresh_token: answer.refresh_token,
            id_token: Some(id_token),
            token_type: Some(answer.token_type.unwrap_or_else(|| "aws_sigv4".to_string())),
            dpop_key: key,
            sign_in_region: Some(region.to_string()),
            extra: Map::new(),
            extra_access: Map::new(),
        };
        Ok((session, token))
    }

    /// This token after a refresh: new credentials and refresh token, the rest (account,
    /// key, client, id token, region, unknown members) as it was, as botocore does.
    pub fn refreshed(&self, answer: Answer, now: u64) -> LoginToken {
        LoginToken {
            access_key_id: answer.access_key_id,
            secret_access_key: answer.secret_access_key,
            session_token: answer.session_token,
            expires_at: now + answer.expires_in,
            refresh_token: answer.refresh_token,
            id_token: answer.id_token.or_else(|| self.id_token.clone()),
            ..self.clone()
        }
    }
}

/// The AWS CLI's file name: lowercase hex SHA-256 of the `login_session` value (trimmed,
/// as the config parsers leave it).
pub fn file_name(session: &str) -> String {
    format!(
        "{}.json",
        crate::store::crypto::hex(&Sha256::digest(session.trim().as_bytes()))
    )
}

/// Where the AWS CLI keeps sign-in tokens: `AWS_LOGIN_CACHE_DIRECTORY` (with `~` and
/// `$VAR` expanded, as botocore does), else `~/.aws/login/cache`.
pub fn cache_dir(var: &dyn Fn(&str) -> Option<String>, home: &std::path::Path) -> PathBuf {
    match var("AWS_LOGIN_CACHE_DIRECTORY").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = expand_vars(&dir, var);
            match dir.strip_prefix('~') {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    home.join(rest.trim_start_matches('/'))
                }
                _ => PathBuf::from(dir),
            }
        }
        None => home.join(".aws/login/cache"),
    }
}

/// Python's `os.path.expandvars`: `$NAME` and `${NAME}` replaced when set, else kept.
fn expand_vars(text: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match var(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    out
}

/// A cache file's bytes. The error says what is wrong in words that name fields, never
/// their values.
pub fn parse(bytes: &[u8]) -> Result<LoginToken, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            "it is truncated".to_string()
        } else {
            // serde's message names a position, never a value.
            format!("it is not JSON: {e}")
        }
    })?;
    let Value::Object(mut top) = value else {
        return Err("it is not a sign-in token file (not a JSON object)".to_string());
    };
    let Some(access) = top.remove("accessToken") else {
        return Err("it has no `accessToken`".to_string());
    };
    let Value::Object(mut access) = access else {
        return Err("its `accessToken` is not an object".to_string());
    };
    let access_key_id = string(&mut access, "accessToken.accessKeyId")?;
    let secret_access_key = secret(&mut access, "accessToken.secretAccessKey")?;
    let session_token = secret(&mut access, "accessToken.sessionToken")?;
    let account_id = string(&mut access, "accessToken.accountId")?;
    let expires_text = string(&mut access, "accessToken.expiresAt")?;
    let expires_at =
        parse_time(&expires_text).map_err(|e| format!("its `accessToken.expiresAt` {e}"))?;
    let client_id = string(&mut top, "clientId")?;
    let refresh_token = secret(&mut top, "refreshToken")?;
    let key_text = secret(&mut top, "dpopKey")?;
    let dpop_key = Key::from_pem(key_text.expose_secret())?;
    let id_token = optional(&mut top, "idToken")?.map(|s| SecretString::from(s.as_str()));
    let token_type = optional(&mut top, "tokenType")?.map(|s| s.to_string());
    let sign_in_region = optional(&mut top, "signInRegion")?.map(|s| s.to_string());
    Ok(LoginToken {
        access_key_id: access_key_id.to_string(),
        secret_access_key,
        session_token,
        account_id: account_id.to_string(),
        expires_at,
        client_id: client_id.to_string(),
        refresh_token,
        id_token,
        token_type,
        dpop_key,
        sign_in_region,
        extra: top,
        extra_access: access,
    })
}

/// Takes `key` out of `map` as a string, wiped when dropped.
fn optional(map: &mut Map<String, Value>, key: &str) -> Result<Option<Zeroizing<String>>, String> {
    let name = key.rsplit('.').next().unwrap_or(key);
    match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Zeroizing::new(s))),
        Some(_) => Err(format!("its `{key}` is not a string")),
    }
}

fn string(map: &mut Map<String, Value>, key: &str) -> Result<Zeroizing<String>, String> {
    match optional(map, key)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("its `{key}` is empty")),
        None => Err(format!("it has no `{key}`")),
    }
}

fn secret(map: &mut Map<String, Value>, key: &str) -> Result<SecretString, String> {
    string(map, key).map(|s| SecretString::from(s.as_str()))
}

/// The file as the AWS CLI writes it: its members in its order (SEC1 PEM key, whole-second
/// `Z` time), then `signInRegion` when known, then every member vault did not know. Secret:
/// callers wipe it.
pub fn to_json(token: &LoginToken) -> Zeroizing<Vec<u8>> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Access<'a> {
        access_key_id: &'a str,
        secret_access_key: &'a str,
        session_token: &'a str,
        account_id: &'a str,
        expires_at: String,
        #[serde(flatten)]
        extra: &'a Map<String, Value>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct File<'a> {
        access_token: Access<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        token_type: Option<&'a str>,
        client_id: &'a str,
        refresh_token: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id_token: Option<&'a str>,
        dpop_key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        sign_in_region: Option<&'a str>,
        #[serde(flatten)]
        extra: &'a Map<String, Value>,
    }
    let pem = token.dpop_key.to_sec1_pem();
    let file = File {
        access_token: Access {
            access_key_id: &token.access_key_id,
            secret_access_key: token.secret_access_key.expose_secret(),
            session_token: token.session_token.expose_secret(),
            account_id: &token.account_id,
            expires_at: format_time(token.expires_at),
            extra: &token.extra_access,
        },
        token_type: token.token_type.as_deref(),
        client_id: &token.client_id,
        refresh_token: token.refresh_token.expose_secret(),
        id_token: token.id_token.as_ref().map(|t| t.expose_secret()),
        dpop_key: &pem,
        sign_in_region: token.sign_in_region.as_deref(),
        extra: &token.extra,
    };
    // Room for all of it up front: a growing buffer would leave copies behind.
    let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024 + 2 * MAX_FILE as usize));
    serde_json::to_writer(&mut *out, &file).expect("a token serializes");
    out
}

/// `CreateOAuth2Token`'s answer (its body is the `tokenOutput` object).
pub struct Answer {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    pub expires_in: u64,
    pub refresh_token: SecretString,
    pub id_token: Option<SecretString>,
    pub token_type: Option<String>,
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("access_key_id", &self.access_key_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Reads the token answer; the error names the member, never a value.
pub fn parse_answer(bytes: &[u8]) -> Result<Answer, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| "the Sign-In service's answer is not JSON".to_string())?;
    let Value::Object(mut top) = value else {
        return Err("the Sign-In service's answer is not a JSON object".to_string());
    };
    let bad = |e: String| {
        format!(
            "the Sign-In service's answer: {}",
            e.replacen("its ", "", 1)
        )
    };
    let Some(Value::Object(mut access)) = top.remove("accessToken") else {
        return Err(bad("it has no `accessToken` object".to_string()));
    };
    let expires_in = match top.get("expiresIn") {
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|&n| (1..=43_200).contains(&n))
            .ok_or_else(|| bad("its `expiresIn` is not a number of seconds".to_string()))?,
        _ => return Err(bad("it has no `expiresIn`".to_string())),
    };
    Ok(Answer {
        access_key_id: string(&mut access, "accessToken.accessKeyId")
            .map_err(bad)?
            .to_string(),
        secret_access_key: secret(&mut access, "accessToken.secretAccessKey").map_err(bad)?,
        session_token: secret(&mut access, "accessToken.sessionToken").map_err(bad)?,
        expires_in,
        refresh_token: secret(&mut top, "refreshToken").map_err(bad)?,
        id_token: optional(&mut top, "idToken")
            .map_err(bad)?
            .map(|s| SecretString::from(s.as_str())),
        token_type: optional(&mut top, "tokenType")
            .map_err(bad)?
            .map(|s| s.to_string()),
    })
}

/// The `sub` of an id token (a JWT), read without checking its signature, as the AWS CLI
/// does: it only names the session; nothing is granted on its word.
pub fn id_token_subject(jwt: &str) -> Result<String, String> {
    use base64::Engine;
    let bad = || "the id token is not a JWT with a `sub`".to_string();
    let claims = jwt.split('.').nth(1).ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .map_err(|_| bad())?;
    let json: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let sub = json.get("sub").and_then(Value::as_str).ok_or_else(bad)?;
    if sub.is_empty() || sub.len() > 2048 || sub.chars().any(char::is_control) {
        return Err(bad());
    }
    Ok(sub.to_string())
}

/// The account of `arn:aws:iam::123456789012:user/x` (12 digits), as the AWS CLI takes it.
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, _partition, _service, _region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    parts.next()?;
    (prefix == "arn" && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some(account)
}

/// `2026-12-01T03:00:27Z`, with or without a fraction (the Rust SDK writes one).
pub fn parse_time(text: &str) -> Result<u64, String> {
    let bad = || "is not a UTC time like `2026-12-01T03:00:27Z`".to_string();
    let shape = text.len() >= 20 && text.as_bytes()[10] == b'T' && text.ends_with('Z');
    if !shape {
        return Err(bad());
    }
    let time = humantime::parse_rfc3339(text).map_err(|_| bad())?;
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| "is before 1970".to_string())
}

/// Whole seconds with a `Z`, as the AWS CLI and botocore write it.
pub fn format_time(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    fn file(expires: &str, key: &str) -> String {
        serde_json::json!({
            "accessToken": {
                "accessKeyId": "ASIAEXAMPLE",
                "secretAccessKey": "SECRET-KEY",
                "sessionToken": "SECRET-SESSION",
                "accountId": "012345678910",
                "expiresAt": expires,
            },
            "tokenType": "aws_sigv4",
            "clientId": "arn:aws:signin:::devtools/same-device",
            "refreshToken": "SECRET-REFRESH",
            "idToken": "SECRET.ID.TOKEN",
            "dpopKey": key,
        })
        .to_string()
    }

    #[test]
    fn the_sep_and_aws_config_file_names() {
        assert_eq!(
            file_name("arn:aws:sts::012345678910:assumed-role/Admin/admin"),
            "4b0ba8f99f075c0633e122fd73346ce203a3faf18ea0310eb2d29df1bab2e255.json"
        );
        assert_eq!(
            file_name(" arn:aws:iam::0123456789012:user/Admin\n"),
            "36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json"
        );
    }

    #[test]
    fn the_cache_folder() {
        let home = std::path::Path::new("/home/u");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            cache_dir(&env(&[]), home),
            PathBuf::from("/home/u/.aws/login/cache")
        );
        assert_eq!(
            cache_dir(&env(&[("AWS_LOGIN_CACHE_DIRECTORY", "~/c")]), home),
            PathBuf::from("/home/u/c")
        );
        assert_eq!(
            cache_dir(
                &env(&[
                    ("AWS_LOGIN_CACHE_DIRECTORY", "$BASE/x/${SUB}/$NOPE"),
                    ("BASE", "/b"),
                    ("SUB", "s")
                ]),
                home
            ),
            PathBuf::from("/b/x/s/$NOPE")
        );
        assert_eq!(
            cache_dir(&env(&[("AWS_LOGIN_CACHE_DIRECTORY", "~other/x")]), home),
            PathBuf::from("~other/x")
        );
        assert_eq!(expand_vars("a$", &|_| None), "a$");
        assert_eq!(
            expand_vars("${unclosed", &|_| Some("v".into())),
            "${unclosed"
        );
    }

    #[test]
    fn reads_the_clis_file_and_writes_it_back_exactly() {
        let text = file("2026-12-01T03:00:27Z", KEY);
        let t = parse(text.as_bytes()).unwrap();
        assert_eq!(t.expires_at, 1_796_094_027);
        assert_eq!(t.account_id, "012345678910");
        assert_eq!(t.sign_in_region, None);
        let back: Value = serde_json::from_slice(&to_json(&t)).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(&text).unwrap());
        // In the AWS CLI's member order.
        let written = String::from_utf8(to_json(&t).to_vec()).unwrap();
        let order = [
            "accessToken",
            "tokenType",
            "clientId",
            "refreshToken",
            "idToken",
            "dpopKey",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|k| written.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{written}");
    }

    #[test]
    fn reads_fractions_and_pkcs8_and_writes_whole_seconds_and_sec1() {
        use p256::pkcs8::EncodePrivateKey;
        let pkcs8 = p256::SecretKey::from_sec1_pem(KEY)
            .unwrap()
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let t = parse(file("2026-12-01T03:00:27.123456Z", &pkcs8).as_bytes()).unwrap();
        assert_eq!(t.expires_at, 1_796_094_027);
        let back: Value = serde_json::from_slice(&to_json(&t)).unwrap();
        assert_eq!(back["accessToken"]["expiresAt"], "2026-12-01T03:00:27Z");
        assert_eq!(back["dpopKey"], KEY);
    }

    #[test]
    fn keeps_members_it_does_not_know() {
        let mut v: Value = serde_json::from_str(&file("2026-12-01T03:00:27Z", KEY)).unwrap();
        v["signInRegion"] = "eu-west-2".into();
        v["someFutureField"] = serde_json::json!({"a": [1, 2]});
        v["accessToken"]["credentialScope"] = "x".into();
        let t = parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(t.sign_in_region.as_deref(), Some("eu-west-2"));
        let answer = Answer {
            access_key_id: "ASIANEW".into(),
            secret_access_key: SecretString::from("NEW-SECRET"),
            session_token: SecretString::from("NEW-SESSION"),
            expires_in: 900,
            refresh_token: SecretString::from("NEW-REFRESH"),
            id_token: None,
            token_type: Some("aws_sigv4".into()),
        };
        let r = t.refreshed(answer, 1_000);
        let back: Value = serde_json::from_slice(&to_json(&r)).unwrap();
        assert_eq!(back["someFutureField"], v["someFutureField"]);
        assert_eq!(back["accessToken"]["credentialScope"], "x");
        assert_eq!(back["signInRegion"], "eu-west-2");
        assert_eq!(back["refreshToken"], "NEW-REFRESH");
        assert_eq!(back["idToken"], "SECRET.ID.TOKEN");
        assert_eq!(back["accessToken"]["accountId"], "012345678910");
        assert_eq!(back["accessToken"]["expiresAt"], "1970-01-01T00:31:40Z");
        assert_eq!(back["dpopKey"], KEY);
    }

    #[test]
    fn bad_files_say_what_is_wrong_without_a_secret() {
        let good: Value = serde_json::from_str(&file("2026-12-01T03:00:27Z", KEY)).unwrap();
        let without = |path: &[&str]| {
            let mut v = good.clone();
            match path {
                [a] => v.as_object_mut().unwrap().remove(*a),
                [a, b] => v[*a].as_object_mut().unwrap().remove(*b),
                _ => unreachable!(),
            };
            v.to_string()
        };
        let with = |key: &str, value: Value| {
            let mut v = good.clone();
            v[key] = value;
            v.to_string()
        };
        let text = good.to_string();
        let cases: Vec<(String, &str)> = vec![
            (text[..text.len() / 2].to_string(), "truncated"),
            ("not json".into(), "not JSON"),
            ("[1]".into(), "not a JSON object"),
            (without(&["dpopKey"]), "no `dpopKey`"),
            (without(&["refreshToken"]), "no `refreshToken`"),
            (without(&["clientId"]), "no `clientId`"),
            (without(&["accessToken"]), "no `accessToken`"),
            (
                without(&["accessToken", "accountId"]),
                "no `accessToken.accountId`",
            ),
            (
                without(&["accessToken", "sessionToken"]),
                "no `accessToken.sessionToken`",
            ),
            (
                with(
                    "dpopKey",
                    "-----BEGIN EC PRIVATE KEY-----\nSECRET\n-----END EC PRIVATE KEY-----".into(),
                ),
                "not a P-256 key",
            ),
            (with("dpopKey", "SECRET".into()), "not a PEM private key"),
            (
                with("refreshToken", 5.into()),
                "`refreshToken` is not a string",
            ),
            (with("refreshToken", "".into()), "`refreshToken` is empty"),
            (
                with("accessToken", "SECRET".into()),
                "`accessToken` is not an object",
            ),
            (
                file("2026-12-01T03:00:27+00:00", KEY),
                "`accessToken.expiresAt` is not a UTC time",
            ),
            (file("tomorrow", KEY), "is not a UTC time"),
        ];
        for (bytes, expect) in cases {
            let e = parse(bytes.as_bytes()).unwrap_err();
            assert!(e.contains(expect), "{expect}: {e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
        let shown = format!("{:?}", parse(text.as_bytes()).unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn the_refresh_window_is_five_minutes() {
        let t = parse(file("2026-12-01T03:00:27Z", KEY).as_bytes()).unwrap();
        let at = t.expires_at;
        assert!(!t.needs_refresh(at - 301) && t.needs_refresh(at - 300));
        assert!(t.valid(at - 1) && !t.valid(at));
        let c = t.credentials();
        assert_eq!(c.expiration, Some(at));
        assert_eq!(c.session_token.unwrap().expose_secret(), "SECRET-SESSION");
    }

    #[test]
    fn a_sign_in_names_the_session_by_the_id_tokens_sub() {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = serde_json::json!({"sub": "arn:aws:iam::123456789012:user/jane", "aud": "x"});
        let jwt = format!(
            "{}.{}.sig",
            b64(serde_json::json!({"alg": "ES384"})),
            b64(claims)
        );
        let answer = parse_answer(
            serde_json::json!({
                "accessToken": {"accessKeyId": "ASIA1", "secretAccessKey": "S", "sessionToken": "T"},
                "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "R", "idToken": jwt,
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let key = Key::from_pem(KEY).unwrap();
        let (session, t) =
            LoginToken::signed_in(answer, key, super::super::SAME_DEVICE, "eu-west-1", 100)
                .unwrap();
        assert_eq!(session, "arn:aws:iam::123456789012:user/jane");
        assert_eq!(t.account_id, "123456789012");
        assert_eq!(t.expires_at, 1000);
        assert_eq!(t.sign_in_region.as_deref(), Some("eu-west-1"));
        let back = parse(&to_json(&t)).unwrap();
        assert_eq!(back.refresh_token.expose_secret(), "R");
        assert_eq!(back.sign_in_region.as_deref(), Some("eu-west-1"));
        assert!(id_token_subject("a.b").is_err());
        assert!(id_token_subject("onlyone").is_err());
        assert_eq!(
            arn_account("arn:aws:sts::012345678910:assumed-role/Admin/admin"),
            Some("012345678910")
        );
        assert_eq!(arn_account("arn:aws:iam::1:user/x"), None);
        assert_eq!(arn_account("arn:aws:iam::123456789012"), None);
    }

    #[test]
    fn answers_that_are_not_tokens() {
        for (body, expect) in [
            ("{", "not JSON"),
            ("{}", "no `accessToken`"),
            (
                r#"{"accessToken":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T"}}"#,
                "no `expiresIn`",
            ),
            (
                r#"{"accessToken":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T"},"expiresIn":-1}"#,
                "`expiresIn`",
            ),
            (
                r#"{"accessToken":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T"},"expiresIn":900}"#,
                "no `refreshToken`",
            ),
            (
                r#"{"accessToken":{"accessKeyId":"A","sessionToken":"T"},"expiresIn":900,"refreshToken":"R"}"#,
                "no `accessToken.secretAccessKey`",
            ),
        ] {
            let e = parse_answer(body.as_bytes()).unwrap_err();
            assert!(e.contains(expect), "{expect}: {e}");
            assert!(e.starts_with("the Sign-In service's answer"), "{e}");
        }
    }
}
