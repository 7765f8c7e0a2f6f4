//! Logging in to IAM Identity Center: the PKCE authorization-code flow with a one-shot
//! callback on 127.0.0.1 (`server::callback`), or the device-code flow; which one (the flag,
//! `sso_use_device_code` in the config or `config.toml`, else the device code over SSH and
//! under WSL, else PKCE when a browser can be opened); the client registration they use,
//! reused until it expires. Instructions go to stderr.
//! Must not: write to stdout, listen anywhere but 127.0.0.1, accept a callback whose
//! `state` is not this login's, give a browser anything but a local address (the page it
//! is sent on to must be https, or loopback http with an endpoint override), or keep
//! anything of a login that did not finish.

use std::process::Stdio;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use super::aws::{self, Endpoint, Failure, Grant, Registration};
use super::token::Token;
use super::{Context, Session};
use crate::error::{Error, Result};
use crate::server::callback::{Loopback, Outcome, Redirecting, WaitError};
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
    /// `--use-device-code` (`Some(true)`), `--use-authorization-code` (`Some(false)`);
    /// `None`: the settings, then the SSH/WSL guess, decide.
    pub device_code: Option<bool>,
    /// `--no-browser`: print the URL, open nothing.
    pub no_browser: bool,
}

/// The config key the AWS CLI reads in `[sso-session]` (aws-cli#9098).
pub const DEVICE_CODE_KEY: &str = "sso_use_device_code";

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

/// What decides the flow, strongest first.
#[derive(Debug, Default)]
pub struct Choice {
    /// `--use-device-code` / `--use-authorization-code`.
    pub flag: Option<bool>,
    /// `sso_use_device_code` in the config, and where it was written.
    pub configured: Option<(bool, String)>,
    /// `sso_use_device_code` in vault's `config.toml`.
    pub settings: Option<bool>,
    /// Why a browser here may not be the person's (SSH, WSL), if it may not.
    pub remote: Option<String>,
    /// Whether a browser can be opened here at all.
    pub browser: bool,
}

/// Why a flow was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `--use-device-code` (true) or `--use-authorization-code`.
    Flag(bool),
    /// `sso_use_device_code` in the config, as this says where.
    Configured(String),
    /// `sso_use_device_code` in `config.toml`.
    Settings(bool),
    /// A browser here may not be the person's: why.
    Remote(String),
    /// Whether a browser can be opened here.
    Browser(bool),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Flag(true) => write!(f, "--use-device-code"),
            Reason::Flag(false) => write!(f, "--use-authorization-code"),
            Reason::Configured(place) => write!(f, "{place}"),
            Reason::Settings(device) => {
                write!(f, "`{DEVICE_CODE_KEY} = {device}` in config.toml")
            }
            Reason::Remote(why) => write!(f, "{why}"),
            Reason::Browser(true) => write!(f, "a browser can be opened here"),
            Reason::Browser(false) => write!(f, "no browser can be opened here"),
        }
    }
}

/// The flow, and why: flag, then the config's setting, then `config.toml`, then the device
/// code over SSH or under WSL (the browser here is not the person's, or there is none, as the
/// AWS CLI and aws-sso-cli users found), then PKCE when a browser can be opened.
pub fn choose(choice: &Choice) -> (Flow, Reason) {
    let flow = |device: bool| if device { Flow::Device } else { Flow::Pkce };
    if let Some(device) = choice.flag {
        (flow(device), Reason::Flag(device))
    } else if let Some((device, place)) = &choice.configured {
        (flow(*device), Reason::Configured(place.clone()))
    } else if let Some(device) = choice.settings {
        (flow(device), Reason::Settings(device))
    } else if let Some(remote) = &choice.remote {
        (Flow::Device, Reason::Remote(remote.clone()))
    } else {
        (flow(!choice.browser), Reason::Browser(choice.browser))
    }
}

/// Why a browser here may not be the person's: `SSH_CONNECTION`, `SSH_CLIENT` or `SSH_TTY`
/// set (an SSH session), `WSL_DISTRO_NAME` set or a WSL kernel (`osrelease`, the text of
/// `/proc/sys/kernel/osrelease`).
pub fn remote(var: &dyn Fn(&str) -> Option<String>, osrelease: Option<&str>) -> Option<String> {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if let Some(name) = ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"]
        .into_iter()
        .find(|name| set(name))
    {
        return Some(format!("an SSH session (`{name}` is set)"));
    }
    if set("WSL_DISTRO_NAME") {
        return Some("WSL (`WSL_DISTRO_NAME` is set)".to_string());
    }
    let release = osrelease.unwrap_or_default().to_ascii_lowercase();
    if release.contains("microsoft") || release.contains("wsl") {
        return Some("WSL (its kernel, `/proc/sys/kernel/osrelease`)".to_string());
    }
    None
}

/// `sso_use_device_code` where it applies to `session`: its `[sso-session]`, or for a legacy
/// profile the first profile with this start URL (and no `sso_session`) that sets it. `true`
/// and `false` in any case; anything else is an error naming the place.
fn configured(
    session: &Session,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(bool, String)>> {
    let config = crate::config::load(var)?;
    let found = match &session.name {
        Some(name) => config
            .profiles
            .sso_session(name)
            .and_then(|s| s.setting(DEVICE_CODE_KEY))
            .map(|s| (s.clone(), format!("[sso-session {name}]"))),
        None => config
            .profiles
            .profiles()
            .iter()
            .filter(|p| {
                p.get("sso_session").is_none()
                    && p.get("sso_start_url") == Some(session.start_url.as_str())
            })
            .find_map(|p| {
                let header = if p.name == "default" {
                    "[default]".to_string()
                } else {
                    format!("[profile {}]", p.name)
                };
                p.setting(DEVICE_CODE_KEY).map(|s| (s.clone(), header))
            }),
    };
    let Some((setting, section)) = found else {
        return Ok(None);
    };
    let place = config.profiles.place(setting.origin);
    let value = setting.value.trim();
    let device = if value.eq_ignore_ascii_case("true") {
        true
    } else if value.eq_ignore_ascii_case("false") {
        false
    } else {
        return Err(Error::ConfigSetting {
            path: place.path,
            line: place.line,
            problem: format!(
                "`{DEVICE_CODE_KEY}` in `{section}` is neither `true` nor `false`: `{}`",
                crate::text::printable(value)
            ),
            hint: Some(format!(
                "write `{DEVICE_CODE_KEY} = true` (the device-code flow) or `false` (a browser)"
            )),
        });
    };
    let at = place.to_string();
    Ok(Some((
        device,
        format!("`{DEVICE_CODE_KEY} = {device}` in `{section}` ({at})"),
    )))
}

fn flow_for(context: &Context, session: &Session, options: &Options) -> Result<(Flow, Reason)> {
    let mut choice = Choice {
        flag: options.device_code,
        ..Choice::default()
    };
    if choice.flag.is_none() {
        choice.configured = configured(session, context.var)?;
    }
    if choice.flag.is_none() && choice.configured.is_none() {
        choice.settings = crate::settings::sso_use_device_code()?;
        let osrelease = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok();
        choice.remote = remote(context.var, osrelease.as_deref());
        choice.browser = browser_available(context.var);
    }
    Ok(choose(&choice))
}

/// Signs in and returns the new token (not yet saved). Run under the session's lock.
pub fn login(context: &mut Context, session: &Session, options: &Options) -> Result<Token> {
    let (flow, why) = flow_for(context, session, options)?;
    let url = context.oidc_url()?;
    let endpoint = Endpoint {
        region: &session.region,
        url: url.as_deref(),
    };
    crate::debug!(
        "SSO login for `{}`: {flow:?} flow ({why}); SSO OIDC at {}",
        session.key(),
        super::shown(url.as_deref(), "oidc", &session.region)
    );
    if let Reason::Remote(why) = &why {
        eprintln!(
            "note: signing in with a code, as this is {why}; `--use-authorization-code` or `{DEVICE_CODE_KEY} = false` in the `[sso-session]` opens a browser here instead"
        );
    }
    let pages = Pages {
        no_browser: options.no_browser,
        // http only to a loopback emulator the OIDC override names (checked there).
        loopback_http: url.as_deref().is_some_and(|u| u.starts_with("http://")),
        var: context.var,
    };
    // A registration the service no longer knows (it expired early) is made again, once.
    for attempt in 0..2 {
        let registration = registration(context, session, flow, &endpoint, attempt > 0)?;
        let result = match flow {
            Flow::Pkce => pkce(session, &endpoint, &registration, &pages),
            Flow::Device => device(session, &endpoint, &registration, &pages),
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

/// How the sign-in pages reach a browser.
struct Pages<'a> {
    no_browser: bool,
    /// Whether `http://` to a loopback host may be opened (an endpoint override names one).
    loopback_http: bool,
    var: &'a dyn Fn(&str) -> Option<String>,
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
    pages: &Pages,
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
    // Served until the poll ends: the browser gets a local address, not the code's.
    let _page = if !pages.no_browser && browser_available(pages.var) {
        show_device_page(&complete, pages)
    } else {
        None
    };
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

/// The device flow's page through a one-shot local redirect; `None` when it is not one a
/// browser should be given (said on stderr) or no local page could be made.
fn show_device_page(complete: &str, pages: &Pages) -> Option<Redirecting> {
    if let Err(why) = openable(complete, pages.loopback_http) {
        not_opened(complete, &why);
        return None;
    }
    let loopback = Loopback::bind()
        .inspect_err(|e| crate::debug!("no local page for the browser: {e}"))
        .ok()?;
    let start = loopback.start_url();
    let page = loopback.redirect_only(complete, WHAT);
    launch(&start, pages.var);
    Some(page)
}

/// How the refusal warning names the local pages.
const WHAT: &str = "IAM Identity Center sign-in";

/// Says that `url` is not given to a browser, and why (escaped: it came from the network).
fn not_opened(url: &str, why: &str) {
    eprintln!(
        "warning: vault does not open `{}` in a browser: {why}; check where it leads before you open it yourself",
        crate::text::printable(url)
    );
}

/// The PKCE flow: send the browser to the authorize URL through the local start page, wait
/// for the one callback with this login's `state`, exchange its code with the verifier.
fn pkce(
    session: &Session,
    endpoint: &Endpoint,
    registration: &Registration,
    pages: &Pages,
) -> std::result::Result<aws::Issued, Step> {
    let loopback = Loopback::bind().map_err(|e| failed(session, e))?;
    let redirect_uri = loopback.redirect_uri();
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
    // The deadline counts from here: the wait re-checks it between connections, and no
    // connection can hold the wait (each is read on its own thread, against its own deadline).
    let deadline = Instant::now() + CALLBACK_WAIT;
    if !pages.no_browser {
        match openable(&url, pages.loopback_http) {
            Ok(()) => launch(&loopback.start_url(), pages.var),
            Err(why) => not_opened(&url, &why),
        }
    }
    let code = match loopback.wait(&url, &state, deadline, WHAT) {
        Ok(Outcome::Code(code)) => code,
        Ok(Outcome::Denied(error)) => {
            return Err(Step::Error(failed(
                session,
                format!(
                    "the sign-in was refused (`{}`)",
                    crate::text::printable(&error)
                ),
            )));
        }
        Err(WaitError::TimedOut) => {
            return Err(Step::Error(failed(
                session,
                "no sign-in within 10 minutes; start again".to_string(),
            )));
        }
        Err(WaitError::Io(problem)) => return Err(Step::Error(failed(session, problem))),
    };
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

/// Whether `url` may be given to a browser: `https://` with a host, or `http://` to
/// 127.0.0.1, `::1` or localhost when `loopback_http` (an endpoint override names such an
/// emulator). Never anything that could be read as an option or another scheme (`file:`,
/// `javascript:`), nor spaces, control characters or user info (`https://a@b`).
pub fn openable(url: &str, loopback_http: bool) -> std::result::Result<(), String> {
    let trimmed = url.trim();
    if trimmed.starts_with('-') {
        return Err("it starts with `-`, so a browser would read it as an option".to_string());
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err("it has spaces, control or non-ASCII characters".to_string());
    }
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err("it is not an https URL".to_string());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("it names a user before the host".to_string());
    }
    let host = host_of(authority);
    if host.is_empty() {
        return Err("it has no host".to_string());
    }
    let allowed = https || (loopback_http && super::is_loopback(host));
    if !allowed {
        return Err(
            "it is not an https URL (http is opened only to 127.0.0.1, ::1 or localhost, with AWS_ENDPOINT_URL_SSO_OIDC naming such an address)"
                .to_string(),
        );
    }
    Ok(())
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Starts the browser on `url` (vault's own local page) the way Python's `webbrowser` reads
/// `BROWSER` (commands separated by `:`, `%s` replaced by the URL or the URL appended), else
/// `open` (macOS) or `xdg-open`. The browser gets no stdin and writes nothing to vault's
/// stdout.
pub fn launch(url: &str, var: &dyn Fn(&str) -> Option<String>) {
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
        let text = random_text(64);
        assert_eq!(text.len(), 64);
        assert_ne!(text, random_text(64));
    }

    #[test]
    fn flag_then_config_then_config_toml_then_ssh_or_wsl_then_a_browser() {
        let configured = || Some((false, "here".to_string()));
        let remote = || Some("an SSH session".to_string());
        for (choice, flow, reason) in [
            (
                Choice {
                    flag: Some(false),
                    configured: Some((true, "here".to_string())),
                    settings: Some(true),
                    remote: remote(),
                    browser: false,
                },
                Flow::Pkce,
                Reason::Flag(false),
            ),
            (
                Choice {
                    flag: Some(true),
                    browser: true,
                    ..Choice::default()
                },
                Flow::Device,
                Reason::Flag(true),
            ),
            (
                Choice {
                    configured: configured(),
                    settings: Some(true),
                    remote: remote(),
                    ..Choice::default()
                },
                Flow::Pkce,
                Reason::Configured("here".to_string()),
            ),
            (
                Choice {
                    settings: Some(true),
                    browser: true,
                    ..Choice::default()
                },
                Flow::Device,
                Reason::Settings(true),
            ),
            (
                Choice {
                    settings: Some(false),
                    remote: remote(),
                    ..Choice::default()
                },
                Flow::Pkce,
                Reason::Settings(false),
            ),
            (
                Choice {
                    remote: remote(),
                    browser: true,
                    ..Choice::default()
                },
                Flow::Device,
                Reason::Remote("an SSH session".to_string()),
            ),
            (
                Choice {
                    browser: true,
                    ..Choice::default()
                },
                Flow::Pkce,
                Reason::Browser(true),
            ),
            (Choice::default(), Flow::Device, Reason::Browser(false)),
        ] {
            assert_eq!(choose(&choice), (flow, reason), "{choice:?}");
        }
    }

    #[test]
    fn ssh_and_wsl_are_seen() {
        let none = |_: &str| None;
        let env = |name: &'static str| move |n: &str| (n == name).then(|| "x".to_string());
        assert_eq!(remote(&none, Some("6.18.44-generic\n")), None);
        assert_eq!(remote(&none, None), None);
        for name in ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"] {
            assert_eq!(
                remote(&env(name), None),
                Some(format!("an SSH session (`{name}` is set)"))
            );
        }
        assert!(
            remote(&env("WSL_DISTRO_NAME"), None)
                .unwrap()
                .starts_with("WSL")
        );
        for release in [
            "5.15.167.4-microsoft-standard-WSL2",
            "4.4.0-19041-Microsoft",
        ] {
            assert!(remote(&none, Some(release)).unwrap().starts_with("WSL"));
        }
        // An empty variable is not set.
        let empty = |n: &str| (n == "SSH_TTY").then(String::new);
        assert_eq!(remote(&empty, None), None);
    }

    #[test]
    fn only_https_reaches_a_browser() {
        for url in [
            "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH",
            "https://eu-west-1.signin.aws/platform/authorize?request_uri=x",
            "https://oidc.eu-west-1.amazonaws.com/authorize?a=b&c=d",
        ] {
            assert_eq!(openable(url, false), Ok(()), "{url}");
        }
        assert_eq!(openable("http://127.0.0.1:5/device?x", true), Ok(()));
        assert_eq!(openable("http://localhost:5/", true), Ok(()));
        assert_eq!(openable("http://[::1]:5/", true), Ok(()));
        for (url, loopback_http, why) in [
            ("--gpu-launcher=touch /tmp/x", true, "it starts with `-`"),
            (" -a Terminal", true, "it starts with `-`"),
            (
                "file:///home/a/.aws/credentials",
                true,
                "it is not an https URL",
            ),
            ("javascript:alert(1)", true, "it is not an https URL"),
            ("HTTPS://x.example/", true, "it is not an https URL"),
            ("https:///path", true, "it has no host"),
            ("https://a@evil.example/", true, "it names a user"),
            ("https://x.example/ --flag", true, "it has spaces"),
            ("https://x.example/\u{1b}]0;t", true, "it has spaces"),
            ("http://127.0.0.1:5/", false, "it is not an https URL (http"),
            ("http://evil.example/", true, "it is not an https URL (http"),
            (
                "http://127.0.0.1.evil.example/",
                true,
                "it is not an https URL (http",
            ),
        ] {
            let got = openable(url, loopback_http).unwrap_err();
            assert!(got.starts_with(why), "{url}: {got}");
        }
    }
}
