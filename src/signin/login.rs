//! Signing in, as `aws login` does: a fresh P-256 DPoP key, PKCE (`SHA-256`) and a `state`,
//! then either the same-device flow (the browser comes back to the one-shot loopback callback
//! of `server::callback`, which answers only vault's own user and gives the browser a start
//! page, so that the authorize URL and its `state` are in no argv) or the
//! cross-device flow (the URL is printed; the person signs in anywhere and pastes the code
//! the page shows). The code is redeemed with `CreateOAuth2Token` and a DPoP proof. Words
//! for the person go to stderr. Must not: write to stdout, listen anywhere but 127.0.0.1,
//! take an answer whose `state` is not this sign-in's, let another user's connection end
//! the wait, or keep anything of a sign-in that did not finish.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::authorize::{Flow, Refusal, Request};
use super::aws::{self, Failure};
use super::dpop::Key;
use super::token::LoginToken;
use crate::error::{Error, Result};
use crate::server::callback::{Loopback, Outcome, WaitError};

/// How long a person has to finish signing in (the AWS CLI's limit).
pub const WAIT: Duration = Duration::from_secs(600);

/// The sign-in, as the callback's refusal warning names it.
const WHAT: &str = "the AWS sign-in";

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--remote`: the cross-device flow.
    pub remote: bool,
}

/// Where a browser opened here would not be seen (SSH, WSL) or cannot be opened at all:
/// the cross-device flow by default, as issue 12 chooses the device-code flow for SSO.
pub fn remote_by_default(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let osrelease = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
    crate::sso::login::remote(var, osrelease.as_deref()).or_else(|| {
        (!crate::sso::login::browser_available(var))
            .then(|| "no browser can be opened here".to_string())
    })
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
    let why = if options.remote {
        Some("--remote".to_string())
    } else {
        remote_by_default(var)
    };
    crate::debug!(
        "sign-in for `{profile}` at {}: {} flow",
        endpoint.base,
        match &why {
            Some(why) => format!("cross-device ({why})"),
            None => "same-device".to_string(),
        }
    );
    let remote = why.is_some();
    let (request, code) = if remote {
        let request = Request::new(&Flow::CrossDevice, &endpoint.base);
        eprintln!(
            "To sign in, open this page in a browser on any device:\n  {}\nand sign in; then paste the code the page shows.",
            crate::text::printable(&request.url(&endpoint.base))
        );
        let code = paste(&request, profile, ask)?;
        (request, code)
    } else {
        let loopback = Loopback::bind().map_err(|e| failed(e, profile))?;
        let request = Request::new(
            &Flow::SameDevice {
                port: loopback.port(),
            },
            &endpoint.base,
        );
        let url = request.url(&endpoint.base);
        eprintln!(
            "To sign in, open this page in a browser on this computer (vault opens it if it can):\n  {}",
            crate::text::printable(&url)
        );
        // The deadline counts from here; no connection can hold the wait.
        let deadline = Instant::now() + WAIT;
        // The browser is given the loopback start page, which sends it on: the authorize
        // URL and its `state` stay out of argv. Only https, or http to the loopback
        // endpoint `AWS_ENDPOINT_URL_SIGNIN` names, is opened at all.
        let loopback_http = var(super::ENDPOINT_VARIABLE).is_some();
        match crate::sso::login::openable(&url, loopback_http) {
            Ok(()) => crate::sso::login::launch(&loopback.start_url(), var),
            Err(why) => eprintln!(
                "Not opening a browser for that URL ({}); open it yourself.",
                crate::text::printable(&why)
            ),
        }
        let code = match loopback.wait(&url, &request.state, deadline, WHAT) {
            Ok(Outcome::Code(code)) => code,
            Ok(Outcome::Denied(error)) => {
                return Err(failed(Refusal::Denied(error).to_string(), profile));
            }
            Err(WaitError::TimedOut) => {
                return Err(failed("no sign-in within 10 minutes", profile));
            }
            Err(WaitError::Io(problem)) => return Err(failed(problem, profile)),
        };
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
            Err(Refusal::NotACode) => eprintln!(
                "{}; try again",
                crate::text::printable(&Refusal::NotACode.to_string())
            ),
            Err(other) => return Err(failed(other.to_string(), profile)),
        }
    }
    Err(failed("no sign-in code was pasted", profile))
}
