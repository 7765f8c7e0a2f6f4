//! Logging in to IAM Identity Center: the PKCE authorization-code flow with a one-shot
//! callback on 127.0.0.1 (when a browser can be opened), else the device-code flow; the
//! client registration they use, reused until it expires. Instructions go to stderr.
//! Must not: write to stdout, listen anywhere but 127.0.0.1, accept a callback whose
//! `state` is not this login's, or keep anything of a login that did not finish.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use super::aws::{self, Endpoint, Failure, Grant, Registration};
use super::token::Token;
use super::{Context, Session};
use crate::error::{Error, Result};
use crate::store::{self, Credentials, EntryId, SessionKey};

/// How long a person has to finish a PKCE sign-in (the AWS CLI's limit).
const CALLBACK_WAIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Pkce,
    Device,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--use-device-code`.
    pub device_code: bool,
    /// `--no-browser`: print the URL, open nothing.
    pub no_browser: bool,
}

/// Whether a browser can be opened here: `BROWSER` is set; or Linux with a display and
/// `xdg-open`; or macOS.
pub fn browser_available(var: &dyn Fn(&str) -> Option<String>) -> bool {
    if var("BROWSER").is_some_and(|b| !b.trim().is_empty()) {
        return true;
    }
    if cfg!(target_os = "macos") {
        return true;
    }
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| var(v).is_some_and(|d| !d.is_empty()));
    display && find_in_path("xdg-open", var).is_some()
}

fn find_in_path(program: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<std::path::PathBuf> {
    let path = var("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether a person can be asked to sign in now: a browser can be opened, or there is a
/// terminal to print the device code on.
pub fn person_present(var: &dyn Fn(&str) -> Option<String>) -> bool {
    browser_available(var) || crate::prompt::terminal_available()
}

pub fn choose(options: &Options, var: &dyn Fn(&str) -> Option<String>) -> Flow {
    if !options.device_code && browser_available(var) {
        Flow::Pkce
    } else {
        Flow::Device
    }
}

/// Signs in and returns the new token (not yet saved). Run under the session's lock.
pub fn login(context: &mut Context, session: &Session, options: &Options) -> Result<Token> {
    let flow = choose(options, context.var);
    let url = context.oidc_url();
    let endpoint = Endpoint {
        region: &session.region,
        url: url.as_deref(),
    };
    crate::debug!("SSO login for `{}`: {flow:?} flow", session.key());
    // A registration the service no longer knows (it expired early) is made again, once.
    for attempt in 0..2 {
        let listener = match flow {
            Flow::Pkce => Some(
                TcpListener::bind("127.0.0.1:0")
                    .map_err(|e| failed(session, format!("cannot listen on 127.0.0.1: {e}")))?,
            ),
            Flow::Device => None,
        };
        let registration = registration(context, session, flow, &endpoint, attempt > 0)?;
        let result = match &listener {
            Some(listener) => pkce(
                session,
                &endpoint,
                &registration,
                listener,
                options,
                context.var,
            ),
            None => device(session, &endpoint, &registration, options, context.var),
        };
        let (issued, registration) = match result {
            Err(Step::Failure(f)) if f.code() == Some("InvalidClientException") && attempt == 0 => {
                crate::debug!("the client registration was refused; registering again");
                forget_registration(context, session, flow)?;
                continue;
            }
            Err(Step::Failure(f)) => return Err(f.into_error("sso-oidc", &endpoint, "oidc")),
            Err(Step::Error(e)) => return Err(e),
            Ok(issued) => (issued, registration),
        };
        eprintln!(
            "Signed in to IAM Identity Center: {}",
            crate::text::printable(&session.start_url)
        );
        return Ok(Token {
            start_url: session.start_url.clone(),
            region: session.region.clone(),
            access_token: issued.access_token,
            expires_at: store::now() + issued.expires_in,
            refresh_token: issued.refresh_token,
            client_id: Some(registration.client_id),
            client_secret: Some(registration.client_secret),
            registration_expires_at: Some(registration.expires_at),
        });
    }
    unreachable!("the loop returns on its second attempt")
}

fn failed(session: &Session, problem: String) -> Error {
    Error::SsoLoginFailed {
        session: session.key().to_string(),
        problem,
    }
}

enum Step {
    Failure(Failure),
    Error(Error),
}

impl From<Failure> for Step {
    fn from(f: Failure) -> Step {
        Step::Failure(f)
    }
}

impl From<Error> for Step {
    fn from(e: Error) -> Step {
        Step::Error(e)
    }
}

/// The store entry of a session's client registration for one flow (PKCE registrations
/// carry grant types and a redirect URI, device ones do not, so they are kept apart).
fn registration_entry(session: &Session, flow: Flow) -> EntryId {
    use blake2::{Blake2s256, Digest};
    let text = serde_json::to_string(&(session.digest(), format!("{flow:?}"), &session.scopes))
        .expect("strings serialize");
    EntryId::Session(SessionKey {
        kind: "sso.RegisterClient".to_string(),
        profile: session.store_label(),
        mfa_serial: None,
        source: super::cache::SIGN_IN_SOURCE.to_string(),
        params: store::crypto::hex(&Blake2s256::digest(text.as_bytes())[..12]),
    })
}

fn forget_registration(context: &mut Context, session: &Session, flow: Flow) -> Result<()> {
    context.store.remove(&registration_entry(session, flow))?;
    Ok(())
}

/// The stored registration while it has an hour left, else a new one (stored).
fn registration(
    context: &mut Context,
    session: &Session,
    flow: Flow,
    endpoint: &Endpoint,
    fresh: bool,
) -> Result<Registration> {
    let id = registration_entry(session, flow);
    if !fresh
        && let Ok(Some(c)) = context.store.get(&id)
        && c.seconds_left(store::now()).is_some_and(|left| left > 3600)
    {
        crate::debug!("reusing the client registration");
        return Ok(Registration {
            client_id: c.access_key_id,
            client_secret: c.secret_access_key,
            expires_at: c.expiration.unwrap_or(0),
        });
    }
    let pkce = (flow == Flow::Pkce).then_some((
        "http://127.0.0.1/oauth/callback",
        session.start_url.as_str(),
    ));
    let registration = aws::register(endpoint, &session.scopes, pkce)
        .map_err(|e| e.into_error("sso-oidc.RegisterClient", endpoint, "oidc"))?;
    let kept = Credentials {
        access_key_id: registration.client_id.clone(),
        secret_access_key: registration.client_secret.clone(),
        session_token: None,
        expiration: Some(registration.expires_at),
    };
    if let Err(e) = context.store.put(&id, &kept) {
        crate::text::warn(format_args!(
            "the client registration is used but not kept: {e}"
        ));
    }
    Ok(registration)
}

/// The device-code flow: print the URL and the code, poll until the person approves.
fn device(
    session: &Session,
    endpoint: &Endpoint,
    registration: &Registration,
    options: &Options,
    var: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<aws::Issued, Step> {
    let device = aws::start_device(endpoint, registration, &session.start_url)?;
    let complete = device
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| device.verification_uri.clone());
    // The code is printed always: since 2026 AWS's complete URL no longer carries it.
    eprintln!(
        "To sign in to IAM Identity Center ({}), open\n  {}\nand enter the code\n  {}\n(or open {})",
        crate::text::printable(&session.start_url),
        crate::text::printable(&device.verification_uri),
        crate::text::printable(&device.user_code),
        crate::text::printable(&complete),
    );
    if !options.no_browser && browser_available(var) {
        open_browser(&complete, var);
    }
    let deadline = Instant::now() + Duration::from_secs(device.expires_in);
    let mut interval = Duration::from_secs(device.interval);
    loop {
        std::thread::sleep(interval);
        match aws::create_token(
            endpoint,
            &registration.client_id,
            &registration.client_secret,
            Grant::Device(&device.device_code),
        ) {
            Ok(issued) => return Ok(issued),
            Err(f) => match f.code() {
                Some("AuthorizationPendingException") => {}
                Some("SlowDownException") => {
                    interval += Duration::from_secs(5);
                    crate::debug!("asked to slow down: polling every {interval:?}");
                }
                Some("ExpiredTokenException") => {
                    return Err(Step::Error(failed(
                        session,
                        "the code expired before the sign-in was approved; start again".to_string(),
                    )));
                }
                Some("AccessDeniedException") => {
                    return Err(Step::Error(failed(
                        session,
                        "the sign-in was denied".to_string(),
                    )));
                }
                _ => return Err(Step::Failure(f)),
            },
        }
        if Instant::now() > deadline {
            return Err(Step::Error(failed(
                session,
                "the code expired before the sign-in was approved; start again".to_string(),
            )));
        }
    }
}

/// The PKCE flow: open the authorize URL, wait for the one callback with this login's
/// `state`, exchange its code with the verifier.
fn pkce(
    session: &Session,
    endpoint: &Endpoint,
    registration: &Registration,
    listener: &TcpListener,
    options: &Options,
    var: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<aws::Issued, Step> {
    let port = listener
        .local_addr()
        .map_err(|e| failed(session, e.to_string()))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/oauth/callback");
    let verifier = SecretString::from(random_text(64));
    let challenge = {
        use sha2::{Digest, Sha256};
        base64url(&Sha256::digest(verifier.expose_secret().as_bytes()))
    };
    let state = random_text(32);
    let base = endpoint
        .url
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("https://oidc.{}.amazonaws.com", endpoint.region));
    let url = format!(
        "{base}/authorize?response_type=code&client_id={}&redirect_uri={}&state={state}&code_challenge_method=S256&scopes={}&code_challenge={challenge}",
        encode(&registration.client_id),
        encode(&redirect_uri),
        encode(&session.scopes.join(" ")),
    );
    eprintln!(
        "To sign in to IAM Identity Center ({}), open this page in a browser on this computer:\n  {}",
        crate::text::printable(&session.start_url),
        crate::text::printable(&url)
    );
    if !options.no_browser {
        open_browser(&url, var);
    }
    let code = wait_for_callback(session, listener, &state)?;
    Ok(aws::create_token(
        endpoint,
        &registration.client_id,
        &registration.client_secret,
        Grant::Code {
            code: &code,
            verifier: &verifier,
            redirect_uri: &redirect_uri,
        },
    )?)
}

/// Accepts connections until one is `/oauth/callback` with our `state`; others are
/// answered and ignored (a wrong `state` with 400), so a stray request cannot end the login.
fn wait_for_callback(
    session: &Session,
    listener: &TcpListener,
    state: &str,
) -> std::result::Result<SecretString, Step> {
    listener
        .set_nonblocking(true)
        .map_err(|e| failed(session, e.to_string()))?;
    let deadline = Instant::now() + CALLBACK_WAIT;
    loop {
        if Instant::now() > deadline {
            return Err(Step::Error(failed(
                session,
                "no sign-in within 10 minutes; start again".to_string(),
            )));
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(Step::Error(failed(session, e.to_string()))),
        };
        match callback(stream, state) {
            Callback::Code(code) => return Ok(code),
            Callback::Denied(error) => {
                return Err(Step::Error(failed(
                    session,
                    format!(
                        "the sign-in was refused (`{}`)",
                        crate::text::printable(&error)
                    ),
                )));
            }
            Callback::Ignored => {}
        }
    }
}

enum Callback {
    Code(SecretString),
    Denied(String),
    Ignored,
}

fn callback(mut stream: TcpStream, state: &str) -> Callback {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return Callback::Ignored;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut reply = |status: &str, text: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
    };
    if path != "/oauth/callback" {
        reply("404 Not Found", "not found\n");
        return Callback::Ignored;
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    if get("state").as_deref() != Some(state) {
        reply(
            "400 Bad Request",
            "this sign-in is not the one vault is waiting for (state does not match); refused\n",
        );
        return Callback::Ignored;
    }
    if let Some(error) = get("error") {
        reply(
            "200 OK",
            "The sign-in was refused. You can close this tab.\n",
        );
        return Callback::Denied(error);
    }
    match get("code") {
        Some(code) => {
            reply("200 OK", "Signed in to vault. You can close this tab.\n");
            Callback::Code(SecretString::from(code))
        }
        None => {
            reply("400 Bad Request", "no code\n");
            Callback::Ignored
        }
    }
}

/// Opens `url` the way Python's `webbrowser` reads `BROWSER` (commands separated by `:`,
/// `%s` replaced by the URL or the URL appended), else `open` (macOS) or `xdg-open`. The
/// browser gets no stdin and writes nothing to vault's stdout.
fn open_browser(url: &str, var: &dyn Fn(&str) -> Option<String>) {
    let commands: Vec<Vec<String>> = match var("BROWSER").filter(|b| !b.trim().is_empty()) {
        Some(browser) => browser
            .split(':')
            .map(|command| {
                let mut words: Vec<String> =
                    command.split_whitespace().map(str::to_string).collect();
                if words.iter().any(|w| w.contains("%s")) {
                    words = words.into_iter().map(|w| w.replace("%s", url)).collect();
                } else {
                    words.push(url.to_string());
                }
                words
            })
            .filter(|w| !w.is_empty())
            .collect(),
        None if cfg!(target_os = "macos") => vec![vec!["open".to_string(), url.to_string()]],
        None => vec![vec!["xdg-open".to_string(), url.to_string()]],
    };
    for words in commands {
        let mut command = crate::process::command(&words[0]);
        command
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match crate::process::with_child_limits(|| command.spawn()) {
            Ok(mut child) => {
                // Reaped in the background: a browser launcher may outlive the login.
                std::thread::spawn(move || child.wait());
                return;
            }
            Err(e) => crate::debug!("could not start the browser `{}`: {e}", words[0]),
        }
    }
    eprintln!("Could not open a browser; open the URL above yourself.");
}

/// `n` random characters from the URL-safe unreserved set (PKCE verifier, `state`).
fn random_text(n: usize) -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let bytes = store::crypto::random::<64>();
    bytes[..n.min(64)]
        .iter()
        .map(|b| SET[*b as usize % SET.len()] as char)
        .collect()
}

fn base64url(bytes: &[u8]) -> String {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(SET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Percent-encodes all but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pieces() {
        // RFC 7636 appendix B.
        use sha2::{Digest, Sha256};
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64url(&Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(
            encode("http://127.0.0.1:5/a b"),
            "http%3A%2F%2F127.0.0.1%3A5%2Fa%20b"
        );
        assert_eq!(decode("a%3Ab+c%2"), "a:b c%2");
        let text = random_text(64);
        assert_eq!(text.len(), 64);
        assert_ne!(text, random_text(64));
    }
}
