//! Signing in, as `aws login` does: a fresh P-256 DPoP key, PKCE (`SHA-256`) and a `state`,
//! then either the same-device flow (the browser comes back to a one-shot callback on
//! 127.0.0.1, served through `server::http`, which answers only vault's own user) or the
//! cross-device flow (the URL is printed; the person signs in anywhere and pastes the code
//! the page shows). The code is redeemed with `CreateOAuth2Token` and a DPoP proof. Words
//! for the person go to stderr. Must not: write to stdout, listen anywhere but 127.0.0.1,
//! take an answer whose `state` is not this sign-in's, let another user's connection end
//! the wait, or keep anything of a sign-in that did not finish.

use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::authorize::{Flow, Refusal, Request};
use super::aws::{self, Failure};
use super::dpop::Key;
use super::token::LoginToken;
use crate::error::{Error, Result};
use crate::server::http::{self, Handler, Limits, Refused, Response, Server};

/// How long a person has to finish signing in (the AWS CLI's limit).
pub const WAIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--remote`: the cross-device flow.
    pub remote: bool,
}

/// Where a browser opened here would not be seen (SSH, WSL) or cannot be opened at all:
/// the cross-device flow by default, as issue 12 chooses the device-code flow for SSO.
pub fn remote_by_default(var: &dyn Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    set("SSH_CONNECTION")
        || set("SSH_TTY")
        || set("WSL_DISTRO_NAME")
        || set("WSL_INTEROP")
        || !crate::sso::login::browser_available(var)
}

/// Whether a person can be asked to sign in now: a browser can be opened, or there is a
/// terminal to paste a code on.
pub fn person_present(var: &dyn Fn(&str) -> Option<String>) -> bool {
    crate::sso::login::browser_available(var) || crate::prompt::terminal_available()
}

fn failed(problem: impl Into<String>, profile: &str) -> Error {
    Error::LoginSession {
        problem: format!("the sign-in did not finish: {}", problem.into()),
        hint: format!("run `vault signin {profile}` again"),
    }
}

/// Signs in at `endpoint` (for `region`) and returns the session's name (the id token's
/// `sub`) and its token, not yet saved. `ask` reads the pasted code (cross-device).
pub fn sign_in(
    endpoint: &super::Endpoint,
    region: &str,
    options: &Options,
    profile: &str,
    var: &dyn Fn(&str) -> Option<String>,
    ask: &mut dyn FnMut(&str) -> Result<zeroize::Zeroizing<String>>,
) -> Result<(String, LoginToken)> {
    let key = Key::generate();
    let remote = options.remote || remote_by_default(var);
    crate::debug!(
        "sign-in for `{profile}` at {}: {} flow",
        endpoint.base,
        if remote {
            "cross-device"
        } else {
            "same-device"
        }
    );
    let (request, code) = if remote {
        let request = Request::new(&Flow::CrossDevice, &endpoint.base);
        eprintln!(
            "To sign in, open this page in a browser on any device:\n  {}\nand sign in; then paste the code the page shows.",
            crate::text::printable(&request.url(&endpoint.base))
        );
        let code = paste(&request, profile, ask)?;
        (request, code)
    } else {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| failed(format!("cannot listen on 127.0.0.1: {e}"), profile))?;
        let port = listener
            .local_addr()
            .map_err(|e| failed(e.to_string(), profile))?
            .port();
        let request = Request::new(&Flow::SameDevice { port }, &endpoint.base);
        let url = request.url(&endpoint.base);
        eprintln!(
            "To sign in, open this page in a browser on this computer (vault opens it if it can):\n  {}",
            crate::text::printable(&url)
        );
        open_browser(&url, var);
        let code = wait_for_callback(&listener, &request, profile)?;
        (request, code)
    };
    let answer = aws::create_token(
        endpoint,
        &aws::Request::Code {
            request: &request,
            code: &code,
        },
        &key,
        &crate::store::now,
    )
    .map_err(|failure| match failure {
        Failure::Service(e) => Error::LoginSession {
            hint: e.hint(profile),
            problem: e.to_string(),
        },
        other => failed(other.to_string(), profile),
    })?;
    let (session, token) =
        LoginToken::signed_in(answer, key, request.client_id, region, crate::store::now())
            .map_err(|problem| failed(problem, profile))?;
    eprintln!("Signed in as {}", crate::text::printable(&session));
    Ok((session, token))
}

/// Up to three tries at pasting the code.
fn paste(
    request: &Request,
    profile: &str,
    ask: &mut dyn FnMut(&str) -> Result<zeroize::Zeroizing<String>>,
) -> Result<SecretString> {
    for _ in 0..3 {
        let answer = ask("Enter the authorization code displayed in your browser: ")?;
        match request.from_pasted(&answer) {
            Ok(code) => return Ok(code),
            Err(Refusal::NotACode) => eprintln!("{}; try again", Refusal::NotACode),
            Err(other) => return Err(failed(other.to_string(), profile)),
        }
    }
    Err(failed("no sign-in code was pasted", profile))
}

/// What the callback server tells the waiting sign-in.
enum Event {
    Answer(std::result::Result<SecretString, Refusal>),
    Refused(SocketAddr, String),
}

/// The one route: `GET /oauth/callback?code=&state=` (or `?error=&state=`). An answer with
/// another `state` is refused with 400 and does not end the wait; nor does any other path.
struct Callback {
    request: Arc<Request>,
    events: Mutex<mpsc::Sender<Event>>,
}

impl Handler for Callback {
    fn respond(&self, request: &http::Request, _: SocketAddr) -> Response {
        let page = |status: u16, text: &str| {
            Response::new(status).body("text/plain; charset=utf-8", format!("{text}\n"))
        };
        if request.method != "GET" || request.path() != "/oauth/callback" {
            return page(404, "not found");
        }
        let query = request.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        match self.request.from_callback(query) {
            None => page(400, "this is not a sign-in answer"),
            Some(Err(Refusal::StateMismatch)) => page(
                400,
                "this sign-in is not the one vault is waiting for (state does not match); refused",
            ),
            Some(answer) => {
                let ok = answer.is_ok();
                let _ = self
                    .events
                    .lock()
                    .expect("not poisoned")
                    .send(Event::Answer(answer));
                if ok {
                    page(
                        200,
                        "Signed in: you can close this tab and go back to the terminal.",
                    )
                } else {
                    page(200, "The sign-in was refused; see the terminal.")
                }
            }
        }
    }

    fn refused(&self, peer: SocketAddr, why: &Refused) {
        let text = match why {
            Refused::OtherUser(uid) => format!("it belongs to uid {uid}, not you"),
            Refused::Unknown(problem) => format!("its user could not be found ({problem})"),
        };
        let _ = self
            .events
            .lock()
            .expect("not poisoned")
            .send(Event::Refused(peer, text));
    }
}

/// Serves the callback until this sign-in's answer comes, or `WAIT` passes.
fn wait_for_callback(
    listener: &TcpListener,
    request: &Request,
    profile: &str,
) -> Result<SecretString> {
    let (events, received) = mpsc::channel();
    let handler = Callback {
        request: Arc::new(Request {
            client_id: request.client_id,
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            verifier: request.verifier.clone(),
        }),
        events: Mutex::new(events),
    };
    let server = Server::new(Arc::new(handler), Limits::default());
    listener
        .set_nonblocking(true)
        .map_err(|e| failed(e.to_string(), profile))?;
    let started = Instant::now();
    loop {
        for event in received.try_iter() {
            match event {
                Event::Answer(Ok(code)) => return Ok(code),
                Event::Answer(Err(refusal)) => return Err(failed(refusal.to_string(), profile)),
                Event::Refused(peer, why) => crate::text::warn(format_args!(
                    "refused a connection to the sign-in callback from local port {}: {why}; still waiting for your browser",
                    peer.port()
                )),
            }
        }
        if started.elapsed() > WAIT {
            return Err(failed("no sign-in within 10 minutes", profile));
        }
        match listener.accept() {
            Ok((stream, _)) => server.handle(stream),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(failed(e.to_string(), profile)),
        }
    }
}

/// Opens `url` with `BROWSER` (each `:`-separated command; `%s` is the URL, else it goes
/// last, after `--` is not added since openers differ), else `xdg-open` or `open`. Only
/// https URLs, and http ones to 127.0.0.1 (what the endpoint rule lets through), are opened.
fn open_browser(url: &str, var: &dyn Fn(&str) -> Option<String>) {
    if !(url.starts_with("https://") || url.starts_with("http://127.0.0.1:")) {
        eprintln!("Not opening a browser for that URL; open it yourself.");
        return;
    }
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
                // Reaped in the background: a browser launcher may outlive the sign-in.
                std::thread::spawn(move || child.wait());
                return;
            }
            Err(e) => crate::debug!("could not start the browser `{}`: {e}", words[0]),
        }
    }
    eprintln!("Could not open a browser; open the URL above yourself.");
}
