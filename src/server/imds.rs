//! `exec --ec2-server`: the EC2 instance metadata protocol (IMDSv2) on 127.0.0.1, for tools
//! that speak only that. `PUT /latest/api/token` (TTL 1..=21600 s) gives a token; every GET
//! needs an unexpired one (401 without), unless `--ec2-server-v1`. A `Host` that is not the
//! server's own (DNS rebinding) and any `X-Forwarded-For` (a proxy) are refused with 403, as
//! EC2 does. Routes: the role list and the credentials under `iam/security-credentials/`,
//! `iam/info`, `instance-id`, `placement/region`, the instance-identity document.
//!
//! It must not touch the network itself (`http.rs` reads and writes), hold a lock while a
//! request is read, or keep more than `MAX_TOKENS` tokens.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::Refresh;
use super::ecs::{Served, constant_time_eq};
use super::http::{Handler, Refused, Request, Response};
use crate::exec::rfc3339;
use crate::store::{self, Credentials};

/// The name the role list gives, as aws-vault's server named it.
pub const ROLE: &str = "local-credentials";
/// What `instance-id` answers: the shape of an instance ID, no real instance's.
pub const INSTANCE_ID: &str = "i-00000000000000000";
/// EC2's limit on a token's lifetime.
pub const MAX_TTL: u64 = 21_600;
/// Tokens kept at once; the oldest goes first.
const MAX_TOKENS: usize = 256;
/// How long served credentials without an expiry are said to last: the SDKs ask again then.
const NO_EXPIRY: u64 = 3600;

pub struct Imds {
    /// `Host` values accepted: the server's own address.
    hosts: Vec<String>,
    /// Serve GETs without a token (`--ec2-server-v1`).
    v1: bool,
    region: Option<String>,
    tokens: Mutex<Vec<(SecretString, Instant)>>,
    served: Mutex<Served>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    code: &'static str,
    last_updated: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

fn text(status: u16, body: &str) -> Response {
    Response::new(status).body("text/plain", body.as_bytes().to_vec())
}

impl Imds {
    pub fn new(
        address: SocketAddr,
        v1: bool,
        region: Option<String>,
        credentials: Option<Credentials>,
        refresh: Refresh,
        min_ttl: Duration,
    ) -> Imds {
        let mut hosts = vec![address.to_string()];
        if address.ip().is_loopback() {
            hosts.push(format!("localhost:{}", address.port()));
        }
        Imds {
            hosts,
            v1,
            region,
            tokens: Mutex::new(Vec::new()),
            served: Mutex::new(Served::new(credentials, refresh, min_ttl)),
        }
    }

    fn issue(&self, request: &Request) -> Response {
        let Some(ttl) = request
            .header("x-aws-ec2-metadata-token-ttl-seconds")
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|t| (1..=MAX_TTL).contains(t))
        else {
            return text(
                400,
                "X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600",
            );
        };
        let token = store::crypto::hex(&store::crypto::random::<32>());
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|(_, expires)| *expires > now);
        if tokens.len() >= MAX_TOKENS {
            tokens.remove(0);
        }
        tokens.push((
            SecretString::from(token.clone()),
            now + Duration::from_secs(ttl),
        ));
        drop(tokens);
        Response::new(200)
            .header("X-aws-ec2-metadata-token-ttl-seconds", ttl.to_string())
            .body("text/plain", token.into_bytes())
    }

    /// Whether the request may read: an unexpired token (compared with every one kept, in
    /// constant time), or no token at all with `--ec2-server-v1`.
    fn allowed(&self, request: &Request) -> bool {
        let Some(given) = request.header("x-aws-ec2-metadata-token") else {
            return self.v1;
        };
        let now = Instant::now();
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.iter().fold(false, |found, (token, expires)| {
            let same = constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes());
            found | (same & (*expires > now))
        })
    }

    fn credentials(&self) -> Response {
        let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
        match served.current() {
            Ok(c) => {
                let now = store::now();
                let answer = Answer {
                    code: "Success",
                    last_updated: rfc3339(now),
                    kind: "AWS-HMAC",
                    access_key_id: &c.access_key_id,
                    secret_access_key: c.secret_access_key.expose_secret(),
                    token: c.session_token.as_ref().map_or("", |t| t.expose_secret()),
                    expiration: rfc3339(c.expiration.unwrap_or(now + NO_EXPIRY)),
                };
                // Room for the longest session tokens: no regrowth leaves copies behind.
                let mut body = Vec::with_capacity(8 * 1024);
                serde_json::to_writer_pretty(&mut body, &answer).expect("credentials serialize");
                Response::new(200).body("text/plain", body)
            }
            Err(e) => {
                eprintln!("error: {}", crate::text::printable(&e.to_string()));
                text(500, "could not get credentials; vault printed why")
            }
        }
    }
}

impl Handler for Imds {
    fn respond(&self, request: &Request, _: SocketAddr) -> Response {
        let host_ok = request
            .header("host")
            .is_some_and(|host| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)));
        if !host_ok {
            return text(403, "Forbidden: not this server's Host");
        }
        if request.header("x-forwarded-for").is_some() {
            return text(403, "Forbidden: X-Forwarded-For");
        }
        let path = request.path();
        match request.method.as_str() {
            "PUT" if path == "/latest/api/token" => return self.issue(request),
            "GET" => {}
            _ => return text(405, "Method Not Allowed"),
        }
        if !self.allowed(request) {
            return text(401, "Unauthorized");
        }
        let region = self.region.as_deref();
        let now = rfc3339(store::now());
        match path.trim_end_matches('/') {
            "/latest/meta-data/iam/security-credentials" => text(200, ROLE),
            "/latest/meta-data/iam/info" => {
                let body = serde_json::json!({ "Code": "Success", "LastUpdated": now });
                text(200, &serde_json::to_string_pretty(&body).expect("json"))
            }
            "/latest/meta-data/instance-id" => text(200, INSTANCE_ID),
            "/latest/meta-data/placement/region" => match region {
                Some(region) => text(200, region),
                None => text(404, "Not Found"),
            },
            "/latest/dynamic/instance-identity/document" => {
                let body = serde_json::json!({
                    "instanceId": INSTANCE_ID,
                    "region": region,
                    "pendingTime": now,
                });
                text(200, &serde_json::to_string_pretty(&body).expect("json"))
            }
            other => match other.strip_prefix("/latest/meta-data/iam/security-credentials/") {
                Some(ROLE) => self.credentials(),
                _ => text(404, "Not Found"),
            },
        }
    }

    fn sent(&self, request: &Request, response: &Response, _: SocketAddr, result: &io::Result<()>) {
        crate::debug!(
            "imds: {} {} -> {}",
            request.method,
            request.path(),
            response.status()
        );
        if let Err(e) = result {
            crate::debug!("imds: could not answer: {e}");
        }
    }

    fn refused(&self, peer: SocketAddr, why: &Refused) {
        match why {
            Refused::OtherUser(uid) => crate::debug!(
                "imds: refused a connection from port {} of another user (uid {uid})",
                peer.port()
            ),
            Refused::Unknown(problem) => crate::debug!(
                "imds: refused a connection from port {} whose user is unknown: {problem}",
                peer.port()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::http::parse_request;

    fn imds(v1: bool) -> Imds {
        Imds::new(
            "127.0.0.1:4242".parse().unwrap(),
            v1,
            Some("eu-west-1".to_string()),
            Some(Credentials {
                access_key_id: "ASIAEXAMPLE".to_string(),
                secret_access_key: SecretString::from("secret-key"),
                session_token: Some(SecretString::from("session-token")),
                expiration: Some(store::now() + 3600),
            }),
            Box::new(|| unreachable!("fresh credentials are not refreshed")),
            Duration::from_secs(60),
        )
    }

    fn ask(imds: &Imds, head: &str) -> (u16, String) {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let response = imds.respond(&parse_request(head.as_bytes()).unwrap(), peer);
        let bytes = response.to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
        (response.status(), body.unwrap_or_default())
    }

    const HOST: &str = "Host: 127.0.0.1:4242\r\n";

    fn token(imds: &Imds, ttl: &str) -> (u16, String) {
        ask(
            imds,
            &format!(
                "PUT /latest/api/token HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token-ttl-seconds: {ttl}\r\n\r\n"
            ),
        )
    }

    #[test]
    fn v2_tokens_and_routes() {
        let server = imds(false);
        let get = |path: &str, token: &str| {
            ask(
                &server,
                &format!("GET {path} HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token: {token}\r\n\r\n"),
            )
        };
        let (status, token) = token(&server, "21600");
        assert_eq!(status, 200);
        assert_eq!(token.len(), 64);
        assert_eq!(
            get("/latest/meta-data/iam/security-credentials/", &token),
            (200, ROLE.to_string())
        );
        let (status, body) = get(
            "/latest/meta-data/iam/security-credentials/local-credentials",
            &token,
        );
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["Code"], "Success");
        assert_eq!(json["Type"], "AWS-HMAC");
        assert_eq!(json["AccessKeyId"], "ASIAEXAMPLE");
        assert_eq!(json["Token"], "session-token");
        assert!(json["LastUpdated"].as_str().unwrap().ends_with('Z'));
        assert!(json["Expiration"].as_str().unwrap().ends_with('Z'));
        assert_eq!(get("/latest/meta-data/instance-id", &token).1, INSTANCE_ID);
        assert_eq!(
            get("/latest/meta-data/placement/region", &token).1,
            "eu-west-1"
        );
        let (_, doc) = get("/latest/dynamic/instance-identity/document", &token);
        assert!(doc.contains(r#""region": "eu-west-1""#), "{doc}");
        let (_, info) = get("/latest/meta-data/iam/info", &token);
        assert!(info.contains(r#""Code": "Success""#), "{info}");
        assert_eq!(
            get("/latest/meta-data/iam/security-credentials/other", &token).0,
            404
        );
        // Without a token, or with a wrong one: 401, and no secret.
        for head in [
            format!(
                "GET /latest/meta-data/iam/security-credentials/local-credentials HTTP/1.1\r\n{HOST}\r\n"
            ),
            format!(
                "GET /latest/meta-data/iam/security-credentials/local-credentials HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token: {}x\r\n\r\n",
                token
            ),
        ] {
            let (status, body) = ask(&server, &head);
            assert_eq!(status, 401, "{head}");
            assert!(!body.contains("secret-key"));
        }
    }

    #[test]
    fn bad_input() {
        let server = imds(false);
        for ttl in ["21601", "0", "-1", "soon", ""] {
            assert_eq!(token(&server, ttl).0, 400, "{ttl:?}");
        }
        let (_, token) = token(&server, "60");
        let path = "/latest/meta-data/iam/security-credentials/local-credentials";
        for (head, status) in [
            (
                format!(
                    "GET {path} HTTP/1.1\r\nHost: evil.example:4242\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n"
                ),
                403,
            ),
            (
                format!("GET {path} HTTP/1.1\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n"),
                403,
            ),
            (
                format!(
                    "GET {path} HTTP/1.1\r\n{HOST}X-Forwarded-For: 10.0.0.1\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n"
                ),
                403,
            ),
            (
                format!(
                    "PUT /latest/api/token HTTP/1.1\r\n{HOST}X-Forwarded-For: 10.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"
                ),
                403,
            ),
            (
                format!("POST {path} HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token: {token}\r\n\r\n"),
                405,
            ),
        ] {
            let (got, body) = ask(&server, &head);
            assert_eq!(got, status, "{head}");
            assert!(!body.contains("secret-key"));
        }
        // An expired token is refused.
        server.tokens.lock().unwrap()[0].1 = Instant::now() - Duration::from_secs(1);
        let head =
            format!("GET {path} HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token: {token}\r\n\r\n");
        assert_eq!(ask(&server, &head).0, 401);
    }

    #[test]
    fn v1_on_request() {
        let server = imds(true);
        let head = format!("GET /latest/meta-data/instance-id HTTP/1.1\r\n{HOST}\r\n");
        assert_eq!(ask(&server, &head), (200, INSTANCE_ID.to_string()));
        let head = format!(
            "GET /latest/meta-data/instance-id HTTP/1.1\r\n{HOST}X-aws-ec2-metadata-token: wrong\r\n\r\n"
        );
        assert_eq!(ask(&server, &head).0, 401);
    }
}
