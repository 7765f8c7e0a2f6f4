//! The container-credentials route of `exec --server`: GET with the right `Authorization`
//! token gets the credentials as JSON (refreshed first when near expiry), a wrong token 403,
//! another method 405. It must not touch the network itself (`http.rs` reads and writes), nor
//! hold the refresh lock while a request is being read.

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
}

struct Served {
    credentials: Credentials,
    refresh: Refresh,
    min_ttl: Duration,
}

impl Served {
    /// The credentials to hand out: refreshed first when they are close to expiry.
    fn current(&mut self) -> Result<&Credentials> {
        let left = self.credentials.seconds_left(store::now());
        if left.is_some_and(|left| left <= self.min_ttl.as_secs() as i64) {
            crate::debug!(
                "server: refreshing credentials ({}s left)",
                left.unwrap_or(0)
            );
            self.credentials = (self.refresh)()?;
        }
        Ok(&self.credentials)
    }
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
    pub fn new(
        token: SecretString,
        credentials: Credentials,
        refresh: Refresh,
        min_ttl: Duration,
    ) -> Ecs {
        Ecs {
            token,
            served: Mutex::new(Served {
                credentials,
                refresh,
                min_ttl,
            }),
        }
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
        // The request has been read in full: the lock is held for the refresh only.
        let mut served = self
            .served
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match served.current() {
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
                eprintln!("error: {e}");
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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
            credentials(),
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
}
