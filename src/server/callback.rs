//! One-shot loopback OAuth for browser sign-ins (IAM Identity Center's PKCE flow, and `vault
//! signin` next): a listener on 127.0.0.1 whose random start page sends the browser on to the
//! authorize URL once, so that URL and its `state` are in no one's argv, and whose
//! `/oauth/callback` takes the `code` (or `error`) that carries this sign-in's `state`. Every
//! connection goes through `http::Server`: only vault's own user is answered (on Linux), each
//! request head has a deadline and a size cap, each connection its own thread.
//! Must not: print anything but the warning about a refused connection, let a connection end
//! the wait unless it carries the right `state`, or listen anywhere but 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::http::{Handler, Limits, Refused, Request, Response, Server};

/// The path AWS's authorize endpoints send the browser back to (the only one IAM Identity
/// Center accepts for a loopback redirect).
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// How often the wait looks at the clock and for new connections.
const TICK: Duration = Duration::from_millis(20);

/// What the callback brought.
pub enum Outcome {
    /// The authorization code, for the token call with the PKCE verifier.
    Code(SecretString),
    /// The sign-in was refused in the browser: the `error` value, as sent (not yet escaped).
    Denied(String),
}

/// Why the wait ended without an outcome.
#[derive(Debug)]
pub enum WaitError {
    /// Nothing with the right `state` came by the deadline.
    TimedOut,
    /// The listener failed.
    Io(String),
}

/// A listening loopback port for one sign-in.
pub struct Loopback {
    listener: TcpListener,
    port: u16,
    /// `/` and 32 hex digits: the page the browser is given.
    start_path: String,
}

impl Loopback {
    /// Listens on 127.0.0.1, on a port the system picks.
    pub fn bind() -> Result<Loopback, String> {
        let listener = super::http::listen_loopback()
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?
            .port();
        let start_path = format!(
            "/{}",
            crate::store::crypto::hex(&crate::store::crypto::random::<16>())
        );
        Ok(Loopback {
            listener,
            port,
            start_path,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/oauth/callback`, for the authorize URL and the token call.
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// The address to give the browser: it holds no secret and no `state`.
    pub fn start_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.start_path)
    }

    /// Answers the start page (once, with a redirect to `destination`) and the callback until
    /// one with `state` arrives, or `deadline`. A wrong or missing `state`, another path and
    /// another user's connection are answered (or refused) and the wait goes on. `what` names
    /// the sign-in in the refusal warning.
    pub fn wait(
        &self,
        destination: &str,
        state: &str,
        deadline: Instant,
        what: &'static str,
    ) -> Result<Outcome, WaitError> {
        let (events, received) = mpsc::channel();
        let page = Page::new(&self.start_path, destination, Some(state), events, what);
        let server = Server::new(Arc::new(page), Limits::default());
        self.listener
            .set_nonblocking(true)
            .map_err(|e| WaitError::Io(e.to_string()))?;
        loop {
            for event in received.try_iter() {
                match event {
                    Event::Opened(port) => {
                        crate::debug!("the sign-in page went to local port {port}")
                    }
                    Event::Code(code) => return Ok(Outcome::Code(code)),
                    Event::Denied(error) => return Ok(Outcome::Denied(error)),
                }
            }
            if Instant::now() >= deadline {
                return Err(WaitError::TimedOut);
            }
            accept(&self.listener, &server);
        }
    }

    /// Answers only the start page (a redirect to `destination`, once), on a thread of its own,
    /// until the returned guard is dropped: the device-code flow's page, whose address holds
    /// the code, stays out of argv too.
    pub fn redirect_only(self, destination: &str, what: &'static str) -> Redirecting {
        let stop = Arc::new(AtomicBool::new(false));
        let (events, received) = mpsc::channel();
        let page = Page::new(&self.start_path, destination, None, events, what);
        let server = Server::new(Arc::new(page), Limits::default());
        let stopped = Arc::clone(&stop);
        let _ = std::thread::Builder::new()
            .name("vault-sign-in-page".to_string())
            .spawn(move || {
                if self.listener.set_nonblocking(true).is_err() {
                    return;
                }
                while !stopped.load(Ordering::Relaxed) {
                    for event in received.try_iter() {
                        if let Event::Opened(port) = event {
                            crate::debug!("the sign-in page went to local port {port}");
                        }
                    }
                    accept(&self.listener, &server);
                }
            });
        Redirecting { stop }
    }
}

/// Stops `redirect_only`'s page when dropped.
pub struct Redirecting {
    stop: Arc<AtomicBool>,
}

impl Drop for Redirecting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Takes one waiting connection, if any (else sleeps one tick).
fn accept<H: Handler>(listener: &TcpListener, server: &Server<H>) {
    match listener.accept() {
        Ok((stream, _)) => server.handle(stream),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(TICK),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
            ) => {}
        Err(e) => {
            // Out of file descriptors, say: wait rather than spin; the deadline still ends it.
            crate::debug!("sign-in listener: accept failed: {e}");
            std::thread::sleep(TICK * 5);
        }
    }
}

/// What the connection threads tell the wait.
enum Event {
    /// The start page's redirect was sent to this local port.
    Opened(u16),
    Code(SecretString),
    Denied(String),
}

/// How one request is answered.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// The start page, the first time: the redirect.
    Redirect,
    /// The start page again.
    Used,
    /// The callback with this sign-in's `state` and a code.
    Code(String),
    /// The callback with this sign-in's `state` and an error.
    Denied(String),
    /// The callback with no `state`, another one, or neither code nor error.
    WrongState,
    NoCode,
    NotFound,
    NotAllowed,
}

/// The start page and the callback of one sign-in.
struct Page {
    start_path: String,
    destination: String,
    /// `None`: no callback (the device-code flow's page).
    state: Option<String>,
    /// Whether the redirect was given out.
    opened: AtomicBool,
    events: Mutex<mpsc::Sender<Event>>,
    /// Users already warned about: one line each, however often they connect.
    warned: Mutex<Vec<u32>>,
    what: &'static str,
}

impl Page {
    fn new(
        start_path: &str,
        destination: &str,
        state: Option<&str>,
        events: mpsc::Sender<Event>,
        what: &'static str,
    ) -> Page {
        Page {
            start_path: start_path.to_string(),
            destination: destination.to_string(),
            state: state.map(str::to_string),
            opened: AtomicBool::new(false),
            events: Mutex::new(events),
            warned: Mutex::new(Vec::new()),
            what,
        }
    }

    fn tell(&self, event: Event) {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let _ = events.send(event);
    }

    /// What `request` is, without side effects but for the start page's one use.
    fn answer(&self, request: &Request, first_use: bool) -> Answer {
        if request.method != "GET" {
            return Answer::NotAllowed;
        }
        if request.target == self.start_path {
            return if first_use {
                Answer::Redirect
            } else {
                Answer::Used
            };
        }
        match &self.state {
            Some(state) if request.path() == CALLBACK_PATH => callback(request, state),
            _ => Answer::NotFound,
        }
    }
}

/// The callback's query, checked against `state`.
fn callback(request: &Request, state: &str) -> Answer {
    let query = request.target.split_once('?').map_or("", |(_, q)| q);
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let get = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let given = get("state").map(String::as_bytes).unwrap_or_default();
    if !constant_time_eq(given, state.as_bytes()) {
        return Answer::WrongState;
    }
    if let Some(error) = get("error") {
        return Answer::Denied(error.clone());
    }
    match get("code") {
        Some(code) if !code.is_empty() => Answer::Code(code.clone()),
        _ => Answer::NoCode,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn text(status: u16, body: &str) -> Response {
    Response::new(status)
        .header("Cache-Control", "no-store")
        .header("Referrer-Policy", "no-referrer")
        .body("text/plain; charset=utf-8", format!("{body}\n"))
}

impl Handler for Page {
    fn respond(&self, request: &Request, _: SocketAddr) -> Response {
        let first_use = request.method == "GET"
            && request.target == self.start_path
            && !self.opened.swap(true, Ordering::SeqCst);
        match self.answer(request, first_use) {
            Answer::Redirect => Response::new(302)
                .header("Location", self.destination.as_str())
                .header("Cache-Control", "no-store")
                .header("Referrer-Policy", "no-referrer"),
            Answer::Used => text(
                410,
                "This sign-in link was already used. See the terminal where vault runs.",
            ),
            Answer::Code(_) => text(200, "Signed in to vault. You can close this tab."),
            Answer::Denied(_) => text(200, "The sign-in was refused. You can close this tab."),
            Answer::WrongState => text(
                400,
                "This is not the sign-in vault is waiting for (its state does not match); refused.",
            ),
            Answer::NoCode => text(400, "The sign-in gave no code."),
            Answer::NotFound => text(404, "Not found."),
            Answer::NotAllowed => Response::new(405),
        }
    }

    /// The outcome is told once the page was written, so the browser gets it before vault
    /// goes on (and perhaps exits).
    fn sent(
        &self,
        request: &Request,
        response: &Response,
        peer: SocketAddr,
        _: &std::io::Result<()>,
    ) {
        if response.status() == 302 {
            self.tell(Event::Opened(peer.port()));
            return;
        }
        match self.answer(request, false) {
            Answer::Code(code) => self.tell(Event::Code(SecretString::from(code))),
            Answer::Denied(error) => self.tell(Event::Denied(error)),
            _ => {}
        }
    }

    fn refused(&self, _: SocketAddr, why: &Refused) {
        match why {
            Refused::OtherUser(uid) => {
                let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
                if !warned.contains(uid) {
                    warned.push(*uid);
                    eprintln!(
                        "warning: refused a connection to the {} page from another user (uid {uid}); still waiting for your browser",
                        self.what
                    );
                }
            }
            Refused::Unknown(problem) => eprintln!(
                "warning: refused a connection to the {} page whose user could not be found ({}); still waiting for your browser",
                self.what,
                crate::text::printable(problem)
            ),
        }
    }
}

/// Percent-decoding of a query part (`+` is a space).
pub fn decode(text: &str) -> String {
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

    fn request(target: &str) -> Request {
        super::super::http::parse_request(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap()
    }

    fn page(state: Option<&str>) -> Page {
        let (events, _) = mpsc::channel();
        Page::new(
            "/start",
            "https://x/authorize?state=s",
            state,
            events,
            "test",
        )
    }

    #[test]
    fn answers() {
        let page = page(Some("s-1"));
        let answer = |target: &str| page.answer(&request(target), false);
        assert_eq!(
            page.answer(&request("/start"), true),
            Answer::Redirect,
            "the first time"
        );
        assert_eq!(answer("/start"), Answer::Used);
        assert_eq!(answer("/start?x"), Answer::NotFound);
        assert_eq!(
            answer("/oauth/callback?code=c%2B1&state=s-1"),
            Answer::Code("c+1".to_string())
        );
        assert_eq!(
            answer("/oauth/callback?state=s-1&error=access_denied"),
            Answer::Denied("access_denied".to_string())
        );
        for wrong in [
            "/oauth/callback?code=c",
            "/oauth/callback?code=c&state=s-2",
            "/oauth/callback?code=c&state=s-",
            "/oauth/callback?code=c&state=",
            "/oauth/callback?error=access_denied&state=x",
        ] {
            assert_eq!(answer(wrong), Answer::WrongState, "{wrong}");
        }
        assert_eq!(answer("/oauth/callback?state=s-1"), Answer::NoCode);
        assert_eq!(answer("/oauth/callback?state=s-1&code="), Answer::NoCode);
        assert_eq!(answer("/other"), Answer::NotFound);
        // The device-code page has no callback.
        let page = super::tests::page(None);
        assert_eq!(
            page.answer(&request("/oauth/callback?code=c&state=s"), false),
            Answer::NotFound
        );
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a%3Ab+c%2"), "a:b c%2");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%41"), "A");
        assert_eq!(decode("%zz"), "%zz");
    }

    #[test]
    fn the_start_page_redirects_once_then_the_callback_ends_the_wait() {
        use std::io::{Read, Write};
        let loopback = Loopback::bind().unwrap();
        let start = loopback.start_url();
        let port = loopback.port();
        assert!(start.starts_with(&format!("http://127.0.0.1:{port}/")));
        assert_eq!(
            loopback.redirect_uri(),
            format!("http://127.0.0.1:{port}/oauth/callback")
        );
        let get = move |target: String| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(stream, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        };
        let path = start[start.find(&format!(":{port}")).unwrap() + 1 + port.to_string().len()..]
            .to_string();
        let browser = std::thread::spawn(move || {
            let first = get(path.clone());
            let second = get(path);
            let wrong = get("/oauth/callback?code=x&state=other".to_string());
            let right = get("/oauth/callback?code=the-code&state=st".to_string());
            (first, second, wrong, right)
        });
        let outcome = loopback
            .wait(
                "https://example.com/authorize?state=st",
                "st",
                Instant::now() + Duration::from_secs(30),
                "test",
            )
            .unwrap();
        let (first, second, wrong, right) = browser.join().unwrap();
        assert!(first.starts_with("HTTP/1.1 302 Found\r\n"), "{first}");
        assert!(
            first.contains("\r\nLocation: https://example.com/authorize?state=st\r\n"),
            "{first}"
        );
        assert!(second.starts_with("HTTP/1.1 410 "), "{second}");
        assert!(wrong.starts_with("HTTP/1.1 400 "), "{wrong}");
        assert!(right.starts_with("HTTP/1.1 200 OK"), "{right}");
        match outcome {
            Outcome::Code(code) => {
                use secrecy::ExposeSecret;
                assert_eq!(code.expose_secret(), "the-code");
            }
            Outcome::Denied(e) => panic!("denied: {e}"),
        }
    }

    #[test]
    fn the_wait_ends_at_its_deadline() {
        let loopback = Loopback::bind().unwrap();
        let outcome = loopback.wait("https://x/", "s", Instant::now(), "test");
        assert!(matches!(outcome, Err(WaitError::TimedOut)));
    }
}
