//! `vault login PROFILE`: an AWS console sign-in URL through the federation endpoint, opened
//! in a browser or printed. Plain user keys sign in as a federated user (GetFederationToken
//! with the long-lived keys: it refuses sessions); any other chain with its final session.
//!
//! The URL holds a sign-in token, a credential for 15 minutes: it goes to stdout (with
//! `--stdout`, or when no browser opens) or to the browser through a one-shot redirect on
//! 127.0.0.1 that only vault's own user is answered (on Linux), never to an argv, `--debug`
//! output or an error.

use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cli::LoginArgs;
use crate::config::resolve::Base;
use crate::error::{Error, Result};
use crate::server::http::{Handler, Limits, Refused, Request, Response, Server};
use crate::settings::parse_duration;
use crate::store::Credentials;
use crate::sts::aws;
use crate::sts::plan::Options;

use super::credentials::prepare;

/// AWS's own examples use this session policy: the federated user keeps every permission
/// the IAM user has, and no more.
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const FEDERATION_DURATION: Duration = Duration::from_secs(3600);

pub fn run(context: &super::Context, args: &LoginArgs) -> Result<()> {
    if let Some(code) = &args.mfa_token {
        crate::mfa::check(code, "--mfa-token")?;
    }
    let duration = args
        .duration
        .as_deref()
        .map(|d| parse_duration(d, "--duration"))
        .transpose()?;
    let profile = args.profile.as_str();
    let mut prepared = prepare(context, profile, args.region.as_deref())?;
    let plain_keys = prepared.chain.roles.is_empty()
        && matches!(
            prepared.chain.base,
            Base::StoredKeys { .. } | Base::PlaintextKeys { .. }
        );
    // Plain keys: the keys themselves, for GetFederationToken; else the chain's session.
    let options = Options {
        duration: if plain_keys { None } else { duration },
        no_session: plain_keys || args.no_session,
    };
    let credentials = prepared.credentials(profile, options, args.mfa_token.clone())?;
    let region = prepared.region();
    let credentials = if credentials.session_token.is_none() {
        let base = prepared.chain.base.profile();
        let endpoint = aws::sts_endpoint(
            base.get("endpoint_url"),
            base.get("sts_regional_endpoints"),
            super::var,
        );
        let seconds = duration.unwrap_or(FEDERATION_DURATION).as_secs();
        crate::debug!("STS GetFederationToken for `{profile}` for {seconds}s");
        aws::federation_token(
            &credentials,
            &federation_name(super::var("USER").or_else(|| super::var("USERNAME"))),
            ALLOW_ALL,
            seconds,
            region.as_deref(),
            endpoint.as_deref(),
            prepared.chain.stored_keys().unwrap_or(profile),
        )?
    } else {
        credentials
    };

    let (federation, console) = endpoints(region.as_deref(), super::var);
    crate::debug!("getSigninToken at {federation}");
    let token = signin_token(&federation, &credentials)?;
    let path = args.path.as_deref().unwrap_or_default();
    let destination = destination(&console, path, region.as_deref());
    crate::debug!("sign-in token received; the console opens at {destination}");
    let mut url = login_url(&federation, &destination, &token);
    if args.auto_logout {
        url = logout_first(&url);
    }
    if args.stdout {
        return super::print(&format!("{}\n", url.expose_secret()));
    }
    match open_browser(url.expose_secret()) {
        Ok(()) => Ok(()),
        Err(NotOpened::Taken(error)) => Err(error),
        Err(NotOpened::Problem(problem)) => {
            eprintln!(
                "note: could not open a browser ({problem}); open the URL on stdout within 15 minutes to sign in"
            );
            super::print(&format!("{}\n", url.expose_secret()))
        }
    }
}

/// The federation endpoint and the console address: the partition's (from the region), or
/// `AWS_VAULT_FEDERATION_URL` and `AWS_VAULT_CONSOLE_URL`.
fn endpoints(region: Option<&str>, var: impl Fn(&str) -> Option<String>) -> (String, String) {
    let region = region.unwrap_or_default();
    let (federation, console) = if region.starts_with("cn-") {
        (
            "https://signin.amazonaws.cn/federation",
            "https://console.amazonaws.cn/",
        )
    } else if region.starts_with("us-gov-") {
        (
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com/",
        )
    } else {
        (
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com/",
        )
    };
    (
        var("AWS_VAULT_FEDERATION_URL").unwrap_or_else(|| federation.to_string()),
        var("AWS_VAULT_CONSOLE_URL").unwrap_or_else(|| console.to_string()),
    )
}

/// The session as the federation endpoint reads it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Session<'a> {
    session_id: &'a str,
    session_key: &'a str,
    session_token: &'a str,
}

#[derive(Deserialize)]
struct SigninAnswer {
    #[serde(rename = "SigninToken")]
    signin_token: String,
}

/// Trades temporary credentials for a sign-in token (`Action=getSigninToken`).
fn signin_token(federation: &str, credentials: &Credentials) -> Result<SecretString> {
    let failed = |problem: String| Error::Signin {
        endpoint: federation.to_string(),
        problem,
    };
    let session = Zeroizing::new(
        serde_json::to_string(&Session {
            session_id: &credentials.access_key_id,
            session_key: credentials.secret_access_key.expose_secret(),
            session_token: credentials
                .session_token
                .as_ref()
                .map_or("", |t| t.expose_secret()),
        })
        .expect("a session serializes"),
    );
    let url = SecretString::from(format!(
        "{federation}{}Action=getSigninToken&Session={}",
        query_separator(federation),
        encode(&session)
    ));
    let (status, body) = aws::http_get(&url, federation)?;
    let body = Zeroizing::new(body);
    if status != 200 {
        // The body is not shown: an endpoint may echo the request, credentials included.
        return Err(failed(format!("HTTP {status}")));
    }
    let answer: SigninAnswer = serde_json::from_slice(&body)
        .map_err(|_| failed("the answer is not JSON with a `SigninToken`".to_string()))?;
    if answer.signin_token.is_empty() {
        return Err(failed("the `SigninToken` is empty".to_string()));
    }
    Ok(SecretString::from(answer.signin_token))
}

/// The console address, the page asked for, and the region when one is known and the page
/// names none.
fn destination(console: &str, path: &str, region: Option<&str>) -> String {
    let path = path.trim_start_matches('/');
    let mut url = match (console.ends_with('/'), path.is_empty()) {
        (_, true) | (true, false) => format!("{console}{path}"),
        (false, false) => format!("{console}/{path}"),
    };
    if let Some(region) = region
        && !path.contains("region=")
    {
        let at = url.find('#').unwrap_or(url.len());
        let separator = if url[..at].contains('?') { '&' } else { '?' };
        url.insert_str(at, &format!("{separator}region={}", encode(region)));
    }
    url
}

fn login_url(federation: &str, destination: &str, token: &SecretString) -> SecretString {
    SecretString::from(format!(
        "{federation}{}Action=login&Issuer=vault&Destination={}&SigninToken={}",
        query_separator(federation),
        encode(destination),
        encode(token.expose_secret())
    ))
}

/// ByteNess's `--auto-logout`: sign out of the console first, then follow the sign-in URL
/// (the console refuses a second sign-in while a session is open).
fn logout_first(login: &SecretString) -> SecretString {
    SecretString::from(format!(
        "https://us-east-1.signin.aws.amazon.com/oauth?Action=logout&redirect_uri={}",
        encode(login.expose_secret())
    ))
}

fn query_separator(url: &str) -> char {
    if url.contains('?') { '&' } else { '?' }
}

/// Percent-encoding of a query value: every byte but `A-Za-z0-9-._~`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// GetFederationToken's `Name`: `vault-<user>`, 2 to 32 of `[\w+=,.@-]`.
fn federation_name(user: Option<String>) -> String {
    let user: String = user
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .collect();
    let name = if user.is_empty() {
        "vault".to_string()
    } else {
        format!("vault-{user}")
    };
    name.chars().take(32).collect()
}

/// How long a browser has to fetch the one-shot redirect before vault prints the URL.
const REDIRECT_WAIT: Duration = Duration::from_secs(120);

/// How long vault still listens once the redirect was sent: a second request for it in that
/// time means that two programs asked, and the first may not have been the browser.
const AFTER_SERVED: Duration = Duration::from_secs(1);

/// Why the browser was not sent to the sign-in URL.
enum NotOpened {
    /// No browser could be opened, or it did not come: the URL goes to stdout.
    Problem(String),
    /// The one-shot redirect may have gone to another program: stop, say so.
    Taken(Error),
}

impl From<String> for NotOpened {
    fn from(problem: String) -> NotOpened {
        NotOpened::Problem(problem)
    }
}

/// Opens the sign-in URL in a browser without putting it in anyone's argv: the desktop's
/// opener gets a one-shot address on 127.0.0.1 (a random path), and vault answers the one
/// request for it with a redirect to the sign-in URL. The opener is run directly (no shell)
/// and its stdout is not vault's.
fn open_browser(url: &str) -> std::result::Result<(), NotOpened> {
    let listener = crate::server::http::listen_loopback()
        .map_err(|e| format!("could not listen on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let path = format!(
        "/{}",
        crate::store::crypto::hex(&crate::store::crypto::random::<16>())
    );
    let local = format!("http://127.0.0.1:{port}{path}");
    let (program, first): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        // `start` is a cmd.exe builtin: it would need a shell line with the URL in it.
        ("rundll32.exe", &["url.dll,FileProtocolHandler"])
    } else {
        ("xdg-open", &[])
    };
    crate::debug!("opening a one-shot redirect to the sign-in URL with `{program}`");
    let mut opener = crate::process::command(program);
    opener
        .args(first)
        .arg(&local)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let status = crate::process::with_child_limits(|| opener.spawn())
        .and_then(|mut child| child.wait())
        .map_err(|e| format!("`{program}`: {e}"))?;
    if !status.success() {
        return Err(format!("`{program}` exited with {status}").into());
    }
    serve_redirect(&listener, &path, url)
}

/// The one-shot page: its path, where it sends the browser, and to whom it was sent.
struct OneShot {
    path: String,
    url: SecretString,
    served_to: Mutex<Option<SocketAddr>>,
    events: Mutex<mpsc::Sender<Served>>,
    /// Users already warned about: one line each, however often they connect.
    warned: Mutex<Vec<u32>>,
}

/// What the connection threads tell `serve_redirect`.
enum Served {
    /// The redirect was written to this peer, or writing it failed.
    To(SocketAddr, std::result::Result<(), String>),
    /// The page was asked for again after it was served.
    Again { served_to: u16, asked_by: u16 },
}

impl OneShot {
    fn tell(&self, event: Served) {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let _ = events.send(event);
    }
}

impl Handler for OneShot {
    fn respond(&self, request: &Request, peer: SocketAddr) -> Response {
        if request.target != self.path {
            return Response::new(404);
        }
        if request.method != "GET" {
            return Response::new(405);
        }
        let mut served_to = self.served_to.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = *served_to {
            self.tell(Served::Again {
                served_to: first.port(),
                asked_by: peer.port(),
            });
            return Response::new(410).header("Cache-Control", "no-store").body(
                "text/plain; charset=utf-8",
                "This sign-in link was already used. See the terminal where vault login ran.\n",
            );
        }
        *served_to = Some(peer);
        Response::new(302)
            .header("Location", self.url.expose_secret())
            .header("Cache-Control", "no-store")
    }

    fn sent(
        &self,
        _: &Request,
        response: &Response,
        peer: SocketAddr,
        result: &std::io::Result<()>,
    ) {
        if response.status() == 302 {
            let result = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            self.tell(Served::To(peer, result));
        }
    }

    fn refused(&self, _: SocketAddr, why: &Refused) {
        match why {
            Refused::OtherUser(uid) => {
                let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
                if !warned.contains(uid) {
                    warned.push(*uid);
                    eprintln!(
                        "warning: refused a connection to the sign-in page from another user (uid {uid}); still waiting for your browser"
                    );
                }
            }
            Refused::Unknown(problem) => eprintln!(
                "warning: refused a connection to the sign-in page whose user could not be found ({problem}); still waiting for your browser"
            ),
        }
    }
}

/// Answers the first GET of `path` by vault's own user with a redirect to `url`; other paths
/// get 404, other users' connections are refused with a warning, and a second GET of `path`
/// stops vault with an error. Gives up after `REDIRECT_WAIT`.
fn serve_redirect(
    listener: &TcpListener,
    path: &str,
    url: &str,
) -> std::result::Result<(), NotOpened> {
    let (events, received) = mpsc::channel();
    let page = OneShot {
        path: path.to_string(),
        url: SecretString::from(url.to_string()),
        served_to: Mutex::new(None),
        events: Mutex::new(events),
        warned: Mutex::new(Vec::new()),
    };
    let server = Server::new(Arc::new(page), Limits::default());
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut served_at = None;
    loop {
        for event in received.try_iter() {
            match event {
                Served::To(peer, Ok(())) => {
                    crate::debug!("the sign-in redirect went to local port {}", peer.port());
                    served_at = Some(Instant::now());
                }
                Served::To(_, Err(problem)) => {
                    return Err(format!("the sign-in page could not be sent: {problem}").into());
                }
                Served::Again {
                    served_to,
                    asked_by,
                } => {
                    return Err(NotOpened::Taken(Error::SigninTaken {
                        served_to,
                        asked_by,
                    }));
                }
            }
        }
        match served_at {
            Some(at) if at.elapsed() >= AFTER_SERVED => return Ok(()),
            None if started.elapsed() > REDIRECT_WAIT => {
                return Err(
                    "the browser did not ask for the sign-in page within 2 minutes"
                        .to_string()
                        .into(),
                );
            }
            _ => {}
        }
        match listener.accept() {
            Ok((stream, _)) => server.handle(stream),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let console = "https://console.aws.amazon.com/";
        for (path, region, expect) in [
            ("", None, "https://console.aws.amazon.com/"),
            (
                "",
                Some("eu-west-1"),
                "https://console.aws.amazon.com/?region=eu-west-1",
            ),
            (
                "/s3/home",
                Some("eu-west-1"),
                "https://console.aws.amazon.com/s3/home?region=eu-west-1",
            ),
            (
                "ec2/home?x=1#Instances",
                Some("eu-west-1"),
                "https://console.aws.amazon.com/ec2/home?x=1&region=eu-west-1#Instances",
            ),
            (
                "ec2/home?region=us-east-1",
                Some("eu-west-1"),
                "https://console.aws.amazon.com/ec2/home?region=us-east-1",
            ),
        ] {
            assert_eq!(destination(console, path, region), expect, "{path}");
        }
        assert_eq!(
            destination("http://127.0.0.1:1/console", "iam", None),
            "http://127.0.0.1:1/console/iam"
        );
    }

    #[test]
    fn partitions_and_overrides() {
        let none = |_: &str| None;
        assert_eq!(
            endpoints(Some("cn-north-1"), none),
            (
                "https://signin.amazonaws.cn/federation".to_string(),
                "https://console.amazonaws.cn/".to_string()
            )
        );
        assert_eq!(
            endpoints(None, none).0,
            "https://signin.aws.amazon.com/federation"
        );
        let set =
            |name: &str| (name == "AWS_VAULT_FEDERATION_URL").then(|| "http://x/f".to_string());
        assert_eq!(endpoints(Some("us-gov-west-1"), set).0, "http://x/f");
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(encode("a b/c?d=e&f~g"), "a%20b%2Fc%3Fd%3De%26f~g");
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com/",
            &SecretString::from("t+k/n="),
        );
        assert_eq!(
            url.expose_secret(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=vault&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=t%2Bk%2Fn%3D"
        );
    }

    #[test]
    fn federation_names() {
        assert_eq!(federation_name(Some("jane".into())), "vault-jane");
        assert_eq!(federation_name(Some("j a/ne".into())), "vault-jane");
        assert_eq!(federation_name(None), "vault");
        assert_eq!(federation_name(Some("x".repeat(40))).len(), 32);
    }
}
