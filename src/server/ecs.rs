//! The container-credentials routes of `exec --server`, as aws-vault's: GET `/` with the right
//! `Authorization` token gets the profile's credentials as JSON (fetched at the first request
//! with `--lazy`, refreshed when near expiry); GET `/role-arn/<ARN>` a role assumed from them
//! (cached per ARN); something not a role ARN 400, a wrong token 403, another path 404, another
//! method 405. It must not touch the network itself (`http.rs` reads and writes; STS calls go
//! through the closures it is given), nor hold a lock while a request is being read.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::Refresh;
use super::http::{Handler, Refused, Request, Response};
use crate::error::Result;
use crate::exec::rfc3339;
use crate::store::{self, Credentials};

/// The endpoint's state: the token the command was given, and what it is served.
pub struct Ecs {
    token: SecretString,
    served: Mutex<Served>,
    /// Assumes a role (the ARN) from the profile's credentials, for `/role-arn/`.
    assume: Option<Assume>,
}

/// Assumes the role `arn` with `credentials`.
pub type Assume = Box<dyn Fn(&Credentials, &str) -> Result<Credentials> + Send + Sync>;

pub(super) struct Served {
    /// `None` until the first request with `--lazy`.
    credentials: Option<Credentials>,
    refresh: Refresh,
    min_ttl: Duration,
    /// Roles assumed for `/role-arn/`, by ARN.
    roles: HashMap<String, Credentials>,
}

/// Whether `credentials` should be replaced before they are handed out.
fn stale(credentials: &Credentials, min_ttl: Duration) -> bool {
    let left = credentials.seconds_left(store::now());
    left.is_some_and(|left| left <= min_ttl.as_secs() as i64)
}

impl Served {
    pub(super) fn new(
        credentials: Option<Credentials>,
        refresh: Refresh,
        min_ttl: Duration,
    ) -> Served {
        Served {
            credentials,
            refresh,
            min_ttl,
            roles: HashMap::new(),
        }
    }

    /// The credentials to hand out: fetched first when there are none yet (`--lazy`) or
    /// they are close to expiry.
    pub(super) fn current(&mut self) -> Result<&Credentials> {
        match &self.credentials {
            None => crate::debug!("server: getting credentials at the first request"),
            Some(c) if stale(c, self.min_ttl) => crate::debug!(
                "server: refreshing credentials ({}s left)",
                c.seconds_left(store::now()).unwrap_or(0)
            ),
            Some(_) => {}
        }
        if self
            .credentials
            .as_ref()
            .is_none_or(|c| stale(c, self.min_ttl))
        {
            self.credentials = Some((self.refresh)()?);
        }
        Ok(self.credentials.as_ref().expect("set above"))
    }

    /// The role `arn`, assumed from the current credentials unless a fresh one is cached.
    fn role(&mut self, arn: &str, assume: &Assume) -> Result<&Credentials> {
        let cached = self.roles.get(arn).is_some_and(|c| !stale(c, self.min_ttl));
        if !cached {
            crate::debug!("server: assuming {arn} for /role-arn/");
            let role = assume(self.current()?, arn)?;
            self.roles.insert(arn.to_string(), role);
        }
        Ok(&self.roles[arn])
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`, as IAM allows it (`[\w+=,.@-]` and `/` paths).
pub fn is_role_arn(text: &str) -> bool {
    let mut parts = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Some(name) = resource.strip_prefix("role/") else {
        return false;
    };
    partition.starts_with("aws")
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && text.len() <= 2048
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
}

/// `%XX` escapes decoded (an ARN's `:` and `/` may come escaped); `None` if not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

impl Ecs {
    /// `credentials` `None`: get them with `refresh` at the first request (`--lazy`).
    pub fn new(
        token: SecretString,
        credentials: Option<Credentials>,
        refresh: Refresh,
        min_ttl: Duration,
    ) -> Ecs {
        Ecs {
            token,
            served: Mutex::new(Served {
                credentials,
                refresh,
                min_ttl,
                roles: HashMap::new(),
            }),
            assume: None,
        }
    }

    /// Serves `/role-arn/<ARN>` by assuming the role with `assume`.
    pub fn with_roles(mut self, assume: Assume) -> Ecs {
        self.assume = Some(assume);
        self
    }
}

fn message(status: u16, text: &str) -> Response {
    let body = serde_json::json!({ "Message": text }).to_string();
    Response::new(status).body("application/json", body)
}

impl Handler for Ecs {
    fn respond(&self, request: &Request, _: SocketAddr) -> Response {
        if request.method != "GET" {
            return message(405, "only GET is served");
        }
        let authorized = request.header("authorization").is_some_and(|given| {
            constant_time_eq(given.as_bytes(), self.token.expose_secret().as_bytes())
        });
        if !authorized {
            return message(403, "invalid Authorization token");
        }
        let role = match request.path() {
            "/" => None,
            path => match (path.strip_prefix("/role-arn/"), &self.assume) {
                (Some(arn), Some(assume)) => match percent_decode(arn) {
                    Some(arn) if is_role_arn(&arn) => Some((arn, assume)),
                    _ => {
                        return message(
                            400,
                            "not a role ARN: /role-arn/ takes arn:aws:iam::ACCOUNT:role/NAME",
                        );
                    }
                },
                _ => return message(404, "no such route: / and /role-arn/<ARN> are served"),
            },
        };
        // The request has been read in full: the lock is held for the refresh only.
        let mut served = self
            .served
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let credentials = match role {
            None => served.current(),
            Some((arn, assume)) => served.role(&arn, assume),
        };
        match credentials {
            Ok(c) => {
                let answer = Answer {
                    access_key_id: &c.access_key_id,
                    secret_access_key: c.secret_access_key.expose_secret(),
                    token: c.session_token.as_ref().map(|t| t.expose_secret()),
                    expiration: c.expiration.map(rfc3339),
                };
                // Room for the longest session tokens, so the buffer does not regrow and leave
                // copies of the keys behind.
                let mut body = Vec::with_capacity(8 * 1024);
                serde_json::to_writer(&mut body, &answer).expect("credentials serialize");
                Response::new(200).body("application/json", body)
            }
            Err(e) => {
                eprintln!("error: {}", crate::text::printable(&e.to_string()));
                message(500, &e.to_string())
            }
        }
    }

    fn sent(&self, request: &Request, response: &Response, _: SocketAddr, result: &io::Result<()>) {
        if let Err(e) = result {
            crate::debug!(
                "server: {} {} could not be answered: {e}",
                request.method,
                response.status()
            );
        }
    }

    fn refused(&self, peer: SocketAddr, why: &Refused) {
        match why {
            Refused::OtherUser(uid) => crate::debug!(
                "server: refused a connection from port {} of another user (uid {uid}): only vault's own user is served",
                peer.port()
            ),
            Refused::Unknown(problem) => crate::debug!(
                "server: refused a connection from port {} whose user is unknown: {problem}",
                peer.port()
            ),
        }
    }
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::http::parse_request;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn routes() {
        let refreshed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = std::sync::Arc::clone(&refreshed);
        let credentials = || Credentials {
            access_key_id: "ASIAEXAMPLE".to_string(),
            secret_access_key: SecretString::from("secret-key"),
            session_token: Some(SecretString::from("session-token")),
            expiration: Some(store::now() + 3600),
        };
        let ecs = Ecs::new(
            SecretString::from("the-token"),
            Some(credentials()),
            Box::new(move || {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(credentials())
            }),
            Duration::from_secs(60),
        );
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let answer = |head: &str| {
            let response = ecs.respond(&parse_request(head.as_bytes()).unwrap(), peer);
            let bytes = response.to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            (response.status(), text)
        };
        let (status, text) = answer("GET / HTTP/1.1\r\nauthorization: the-token\r\n\r\n");
        assert_eq!(status, 200);
        assert!(
            text.contains(
                r#"{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret-key","Token":"session-token","Expiration":""#
            ),
            "{text}"
        );
        for (head, status) in [
            ("GET / HTTP/1.1\r\n\r\n", 403),
            ("GET / HTTP/1.1\r\nAuthorization: the-toke\r\n\r\n", 403),
            ("GET / HTTP/1.1\r\nAuthorization: the-token!\r\n\r\n", 403),
            ("POST / HTTP/1.1\r\nAuthorization: the-token\r\n\r\n", 405),
            ("OPTIONS / HTTP/1.1\r\n\r\n", 405),
            ("HEAD / HTTP/1.1\r\nAuthorization: the-token\r\n\r\n", 405),
        ] {
            let (got, text) = answer(head);
            assert_eq!(got, status, "{head:?}");
            assert!(!text.contains("secret-key"), "{text}");
        }
        assert_eq!(refreshed.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    #[test]
    fn role_arns() {
        for good in [
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws-cn:iam::123456789012:role/path/to/Role_+=,.@-1",
            "arn:aws-us-gov:iam::123456789012:role/x",
        ] {
            assert!(is_role_arn(good), "{good}");
        }
        for bad in [
            "",
            "admin",
            "arn:aws:iam::123456789012:user/jane",
            "arn:aws:iam::12345678901:role/admin",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:role/admin",
            "arn:aws:iam:eu-west-1:123456789012:role/admin",
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam::123456789012:role/a\"}",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn role_routes_and_lazy_first_fetch() {
        let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let assumed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (count, roles) = (fetched.clone(), assumed.clone());
        let keys = |id: &str| Credentials {
            access_key_id: id.to_string(),
            secret_access_key: SecretString::from("secret-key"),
            session_token: Some(SecretString::from("session-token")),
            expiration: Some(store::now() + 3600),
        };
        let ecs = Ecs::new(
            SecretString::from("the-token"),
            None,
            Box::new(move || {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(keys("ASIABASE"))
            }),
            Duration::from_secs(60),
        )
        .with_roles(Box::new(move |base, arn| {
            assert_eq!(base.access_key_id, "ASIABASE");
            roles.lock().unwrap().push(arn.to_string());
            Ok(keys("ASIAROLE"))
        }));
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let answer = |path: &str| {
            let head = format!("GET {path} HTTP/1.1\r\nAuthorization: the-token\r\n\r\n");
            let response = ecs.respond(&parse_request(head.as_bytes()).unwrap(), peer);
            let bytes = response.to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            (response.status(), text)
        };
        // --lazy: nothing fetched until a request needs it.
        assert_eq!(fetched.load(std::sync::atomic::Ordering::Relaxed), 0);
        let arn = "arn:aws:iam::123456789012:role/admin";
        for path in [
            format!("/role-arn/{arn}"),
            "/role-arn/arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fadmin".to_string(),
        ] {
            let (status, text) = answer(&path);
            assert_eq!(status, 200, "{text}");
            assert!(text.contains(r#""AccessKeyId":"ASIAROLE""#), "{text}");
        }
        assert_eq!(*assumed.lock().unwrap(), [arn], "assumed once, then cached");
        let (status, text) = answer("/");
        assert_eq!(status, 200);
        assert!(text.contains(r#""AccessKeyId":"ASIABASE""#), "{text}");
        assert_eq!(fetched.load(std::sync::atomic::Ordering::Relaxed), 1);
        for path in [
            "/role-arn/",
            "/role-arn/not-an-arn",
            "/role-arn/arn:aws:iam::1:user/x",
        ] {
            let (status, text) = answer(path);
            assert_eq!(status, 400, "{path}");
            assert!(text.contains("application/json"), "{text}");
            assert!(text.contains(r#"{"Message":"not a role ARN"#), "{text}");
        }
        assert_eq!(answer("/latest/meta-data/").0, 404);
    }
}
