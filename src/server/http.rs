//! The loopback HTTP/1.1 plumbing of vault's local servers (`exec --server`'s endpoint,
//! `login`'s one-shot redirect): one request per connection, read against a deadline and a
//! size cap and parsed by a pure parser; a thread per connection up to a small cap; the check
//! that the peer is vault's own user; response writing. It knows no routes (a `Handler` does)
//! and must not print, read without a deadline and a cap, or keep a request's secrets.

use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// The largest request head (request line and headers) read; a longer one gets 431.
pub const MAX_REQUEST: usize = 8 * 1024;

/// How much time and room a connection gets.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// For the whole request head, counted from accept: not per read.
    pub deadline: Duration,
    /// Connections answered at once; further ones wait in the listen queue.
    pub connections: usize,
    /// For writing the response.
    pub write: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            deadline: Duration::from_secs(2),
            connections: 16,
            write: Duration::from_secs(2),
        }
    }
}

/// A request head. Header values are wiped when it is dropped (one may be a token).
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The origin-form target: the path and the query, as sent.
    pub target: String,
    headers: Vec<(String, Zeroizing<String>)>,
}

impl Request {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The first header of this name, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The headers in the order sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The method and header names only: a target or a value may be a secret.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The head has not ended yet and is within `MAX_REQUEST`: read more.
    Incomplete,
    /// No end of the head within `MAX_REQUEST` bytes (431).
    TooLarge,
    /// Not an HTTP/1.x request head (400).
    Malformed(&'static str),
}

/// Parses the request head at the start of `bytes`, what a connection has sent so far: the
/// request line, then headers, up to the first empty line (CRLF or LF line ends). Bytes
/// after the head are not looked at. Pure: no I/O, no allocation beyond the result.
///
/// Strict where a lenient reading could be abused (RFC 9112): one space between the parts
/// of the request line, an origin-form target, no whitespace before a header's colon, no
/// line folding, no control characters. A malformed line is reported as soon as it is
/// complete, so garbage does not need to fill `MAX_REQUEST` to be refused.
pub fn parse_request(bytes: &[u8]) -> Result<Request, ParseError> {
    let window = &bytes[..bytes.len().min(MAX_REQUEST)];
    let mut request: Option<Request> = None;
    let mut start = 0;
    while let Some(end) = window[start..].iter().position(|&b| b == b'\n') {
        let raw = &window[start..start + end];
        start += end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        match request.as_mut() {
            None => request = Some(request_line(line)?),
            Some(request) if line.is_empty() => return Ok(request.clone()),
            Some(request) => request.headers.push(header(line)?),
        }
    }
    if bytes.len() >= MAX_REQUEST {
        Err(ParseError::TooLarge)
    } else {
        Err(ParseError::Incomplete)
    }
}

fn request_line(line: &[u8]) -> Result<Request, ParseError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed(
            "the request line is not `METHOD TARGET VERSION`",
        ));
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::Malformed("the method is not a token"));
    }
    if target.first() != Some(&b'/') || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(ParseError::Malformed("the target is not a path"));
    }
    if version != b"HTTP/1.1" && version != b"HTTP/1.0" {
        return Err(ParseError::Malformed(
            "the version is not HTTP/1.0 or HTTP/1.1",
        ));
    }
    Ok(Request {
        method: ascii(method),
        target: ascii(target),
        headers: Vec::new(),
    })
}

fn header(line: &[u8]) -> Result<(String, Zeroizing<String>), ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::Malformed("a header line has no colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        // Also refuses folded lines and `Name :`, which proxies have read differently.
        return Err(ParseError::Malformed("a header name is not a token"));
    }
    // Optional whitespace (RFC 9110 OWS) is spaces and tabs only.
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    let value = &value[start..end];
    if value.iter().any(|&b| b != b'\t' && (b < b' ' || b == 0x7f)) {
        return Err(ParseError::Malformed(
            "a header value has a control character",
        ));
    }
    // Bytes above 0x7f (obs-text) are kept, as replacement characters if not UTF-8.
    let value = Zeroizing::new(String::from_utf8_lossy(value).into_owned());
    Ok((ascii(name), value))
}

/// RFC 9110's `tchar`: what a method or a header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Bytes already checked to be ASCII.
fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A response; its header values and body are wiped when it is dropped.
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, Zeroizing<String>)>,
    body: Zeroizing<Vec<u8>>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Zeroizing::new(Vec::new()),
        }
    }

    /// Adds a header. Line breaks are removed from the value: it cannot start another.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        let mut value: String = value.into();
        value.retain(|c| c != '\r' && c != '\n');
        self.headers.push((name, Zeroizing::new(value)));
        self
    }

    pub fn body(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        self.body = Zeroizing::new(body.into());
        self.header("Content-Type", content_type)
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The whole response as sent: one connection, one response (`Connection: close`).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let status = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        let end = format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        );
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        // Allocated once: no regrowth leaves a copy of a header value or the body behind.
        let mut bytes = Zeroizing::new(Vec::with_capacity(
            status.len() + headers + end.len() + self.body.len(),
        ));
        bytes.extend_from_slice(status.as_bytes());
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(end.as_bytes());
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    Parse(ParseError),
    /// The head did not arrive before the deadline.
    Timeout,
    /// The peer closed before the head ended.
    Closed,
    Io(io::Error),
}

/// Reads one request head from `stream` by `deadline`, in at most `MAX_REQUEST` bytes.
pub fn read_request(stream: &TcpStream, deadline: Instant) -> Result<Request, ReadError> {
    let mut buffer = Zeroizing::new(vec![0u8; MAX_REQUEST]);
    let mut len = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
        // `parse_request` never says `Incomplete` for a full buffer, so there is room.
        match (&*stream).read(&mut buffer[len..]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadError::Timeout);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        }
        match parse_request(&buffer[..len]) {
            Err(ParseError::Incomplete) => continue,
            parsed => return parsed.map_err(ReadError::Parse),
        }
    }
}

/// Who owns the peer's end of a connection, as far as the platform can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// vault's own (effective) uid.
    Same,
    Other(u32),
    /// This platform has no lookup (Linux only, for now).
    Unchecked,
}

/// Why a connection was closed before its request was read.
#[derive(Debug)]
pub enum Refused {
    /// The peer's socket belongs to another user (this uid).
    OtherUser(u32),
    /// The peer's socket could not be found, so its owner is unknown.
    Unknown(String),
}

/// The owner of the peer's socket: on Linux, the `uid` column of the `/proc/net/tcp` (or
/// `tcp6`) entry whose local address is the peer's and whose remote address is ours.
#[cfg(target_os = "linux")]
pub fn peer_owner(stream: &TcpStream) -> Result<Owner, String> {
    let peer = stream.peer_addr().map_err(|e| e.to_string())?;
    let ours = stream.local_addr().map_err(|e| e.to_string())?;
    let me = nix::unistd::geteuid().as_raw();
    for (table, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let (Some(local), Some(remote)) = (proc_address(peer, v6), proc_address(ours, v6)) else {
            continue;
        };
        let file = match std::fs::File::open(table) {
            Ok(file) => file,
            Err(e) if v6 && e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("could not read `{table}`: {e}")),
        };
        if let Some(uid) = socket_owner(io::BufReader::new(file), &local, &remote) {
            return Ok(if uid == me {
                Owner::Same
            } else {
                Owner::Other(uid)
            });
        }
    }
    Err(format!(
        "no socket from port {} in /proc/net/tcp",
        peer.port()
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn peer_owner(_: &TcpStream) -> Result<Owner, String> {
    Ok(Owner::Unchecked)
}

/// An address as `/proc/net/tcp` (or, with `v6`, `tcp6`) prints it: `0100007F:1F90`. The
/// address is printed as 32-bit words in the kernel's byte order; an IPv4 address in `tcp6`
/// is IPv4-mapped. `None` for an IPv6 address in the IPv4 table.
pub fn proc_address(address: SocketAddr, v6: bool) -> Option<String> {
    let octets: Vec<u8> = match (address, v6) {
        (SocketAddr::V4(a), false) => a.ip().octets().to_vec(),
        (SocketAddr::V4(a), true) => a.ip().to_ipv6_mapped().octets().to_vec(),
        (SocketAddr::V6(a), true) => a.ip().octets().to_vec(),
        (SocketAddr::V6(_), false) => return None,
    };
    let mut text = String::new();
    for word in octets.chunks_exact(4) {
        let word = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
        text.push_str(&format!("{word:08X}"));
    }
    Some(format!("{text}:{:04X}", address.port()))
}

/// The uid of the live socket from `local` to `remote` in a `/proc/net/tcp` table. Entries
/// of closed sockets (inode 0: TIME_WAIT, an orphaned FIN_WAIT2) show uid 0 and are skipped,
/// else a peer that closed at once would pass for root's. Pure over the table's text.
pub fn socket_owner(table: impl BufRead, local: &str, remote: &str) -> Option<u32> {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    table
        .lines()
        .map_while(Result::ok)
        .skip(1)
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let matches = fields.len() > 9
                && fields[1].eq_ignore_ascii_case(local)
                && fields[2].eq_ignore_ascii_case(remote)
                && fields[9] != "0";
            matches.then(|| fields[7].parse().ok()).flatten()
        })
}

/// What a server answers, and what it is told about connections it refused.
pub trait Handler: Send + Sync + 'static {
    /// The response to one request, on the connection's own thread.
    fn respond(&self, request: &Request, peer: SocketAddr) -> Response;

    /// Called once `response` was written (or failed to be).
    fn sent(
        &self,
        _request: &Request,
        _response: &Response,
        _peer: SocketAddr,
        _: &io::Result<()>,
    ) {
    }

    /// A connection closed before its request was read: it is not vault's user's.
    fn refused(&self, peer: SocketAddr, why: &Refused);
}

/// Answers connections for a `Handler`, each on its own thread, at most `connections` at a
/// time, and only those of vault's own user where the platform can tell.
pub struct Server<H> {
    handler: Arc<H>,
    limits: Limits,
    slots: Arc<Slots>,
}

impl<H: Handler> Server<H> {
    pub fn new(handler: Arc<H>, limits: Limits) -> Server<H> {
        Server {
            handler,
            slots: Arc::new(Slots {
                busy: Mutex::new(0),
                freed: Condvar::new(),
                cap: limits.connections.max(1),
            }),
            limits,
        }
    }

    /// Takes one accepted connection: refuses it at once if another user owns the peer,
    /// else answers it on a thread of its own, after waiting for a free slot.
    pub fn handle(&self, stream: TcpStream) {
        let Ok(peer) = stream.peer_addr() else { return };
        let refused = match peer_owner(&stream) {
            Ok(Owner::Same | Owner::Unchecked) => None,
            Ok(Owner::Other(uid)) => Some(Refused::OtherUser(uid)),
            Err(problem) => Some(Refused::Unknown(problem)),
        };
        if let Some(why) = refused {
            // Dropping the stream closes it: nothing is read from it, nothing is written.
            self.handler.refused(peer, &why);
            return;
        }
        let slot = self.slots.acquire();
        let handler = Arc::clone(&self.handler);
        let limits = self.limits;
        let _ = std::thread::Builder::new()
            .name("vault-http".to_string())
            .spawn(move || {
                let _slot = slot;
                // From here, not from accept: time waited for a slot is not the peer's.
                let deadline = Instant::now() + limits.deadline;
                answer(&stream, peer, &*handler, &limits, deadline);
            });
    }
}

/// Reads the request and writes the handler's response, or the error's.
fn answer(
    stream: &TcpStream,
    peer: SocketAddr,
    handler: &impl Handler,
    limits: &Limits,
    deadline: Instant,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(limits.write));
    let failure = match read_request(stream, deadline) {
        Ok(request) => {
            let response = handler.respond(&request, peer);
            let result = write(stream, &response);
            handler.sent(&request, &response, peer, &result);
            return;
        }
        Err(ReadError::Parse(ParseError::TooLarge)) => 431,
        Err(ReadError::Parse(_)) => 400,
        Err(ReadError::Timeout) => 408,
        Err(ReadError::Closed | ReadError::Io(_)) => return,
    };
    let _ = write(stream, &Response::new(failure));
}

fn write(mut stream: &TcpStream, response: &Response) -> io::Result<()> {
    stream.write_all(&response.to_bytes())?;
    stream.flush()
}

/// A counting semaphore for the connection threads.
struct Slots {
    busy: Mutex<usize>,
    freed: Condvar,
    cap: usize,
}

struct Slot(Arc<Slots>);

impl Slots {
    fn acquire(self: &Arc<Slots>) -> Slot {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.cap {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        Slot(Arc::clone(self))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Request, ParseError> {
        parse_request(text.as_bytes())
    }

    #[test]
    fn requests() {
        let request = parse(
            "GET /a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nauthorization:  tok en \r\nX-Empty:\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/a/b?x=1");
        assert_eq!(request.path(), "/a/b");
        assert_eq!(request.header("AUTHORIZATION"), Some("tok en"));
        assert_eq!(request.header("host"), Some("127.0.0.1:9"));
        assert_eq!(request.header("x-empty"), Some(""));
        assert_eq!(request.header("missing"), None);
        assert_eq!(request.headers().count(), 3);
        // LF line ends, HTTP/1.0, the first of two headers of a name.
        let request = parse("PUT / HTTP/1.0\nA: 1\na: 2\n\n").unwrap();
        assert_eq!(
            (request.method.as_str(), request.header("A")),
            ("PUT", Some("1"))
        );
        // What follows the head does not change it.
        assert_eq!(
            parse("GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"),
            parse("GET / HTTP/1.1\r\n\r\n")
        );
        // Debug shows no target and no value.
        let debug = format!(
            "{:?}",
            parse("GET /secret HTTP/1.1\r\nAuthorization: tok\r\n\r\n").unwrap()
        );
        assert!(
            !debug.contains("secret") && !debug.contains("tok\""),
            "{debug}"
        );
    }

    #[test]
    fn incomplete_then_too_large() {
        for text in [
            "",
            "GET",
            "GET / HTTP/1.1",
            "GET / HTTP/1.1\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n\r",
        ] {
            assert_eq!(parse(text), Err(ParseError::Incomplete), "{text:?}");
        }
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_REQUEST - 1, b'a');
        assert_eq!(parse_request(&long), Err(ParseError::Incomplete));
        long.push(b'a');
        assert_eq!(parse_request(&long), Err(ParseError::TooLarge));
        // No line end at all: refused at the cap, however much more comes.
        assert_eq!(
            parse_request(&vec![b'A'; MAX_REQUEST]),
            Err(ParseError::TooLarge)
        );
        assert_eq!(
            parse_request(&vec![b'A'; 10 * MAX_REQUEST]),
            Err(ParseError::TooLarge)
        );
        // A head that ends exactly at the cap is whole; one past it is not.
        let mut exact = b"GET / HTTP/1.1\r\nX: ".to_vec();
        exact.resize(MAX_REQUEST - 4, b'a');
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(parse_request(&exact).is_ok());
        exact.insert(20, b'a');
        assert_eq!(parse_request(&exact), Err(ParseError::TooLarge));
    }

    #[test]
    fn malformed() {
        for text in [
            "\r\n",
            "GET\r\n",
            "GET /\r\n",
            "GET  / HTTP/1.1\r\n",
            "GET / HTTP/1.1 \r\n",
            "GET / HTTP/2\r\n",
            "GET / http/1.1\r\n",
            "G(T / HTTP/1.1\r\n",
            "GET http://x/ HTTP/1.1\r\n",
            "GET * HTTP/1.1\r\n",
            "GET /\x7f HTTP/1.1\r\n",
            "GET /\u{e9} HTTP/1.1\r\n",
            "GET /a\rb HTTP/1.1\r\n",
            "GET / HTTP/1.1\r\nNo colon\r\n",
            "GET / HTTP/1.1\r\nName : v\r\n",
            "GET / HTTP/1.1\r\n: v\r\n",
            "GET / HTTP/1.1\r\nA: 1\r\n  folded\r\n",
            "GET / HTTP/1.1\r\nA: x\0y\r\n",
            "GET / HTTP/1.1\r\nA: x\ry\r\n",
            "GET / HTTP/1.1\r\nA: x\x1by\r\n",
            "GET / HTTP/1.1\r\nA: \x0cx\r\n",
        ] {
            assert!(
                matches!(parse(text), Err(ParseError::Malformed(_))),
                "{text:?}: {:?}",
                parse(text)
            );
        }
        // Refused as soon as the bad line is complete, before the head ends.
        assert!(matches!(
            parse("BAD\r\nmore"),
            Err(ParseError::Malformed(_))
        ));
        // obs-text in a value is kept, not refused.
        let request = parse_request(b"GET / HTTP/1.1\r\nA: caf\xc3\xa9 \xff\r\n\r\n").unwrap();
        assert_eq!(request.header("a"), Some("caf\u{e9} \u{fffd}"));
    }

    #[test]
    fn responses() {
        let response = Response::new(302)
            .header("Location", "http://x/\r\nSet-Cookie: a=b")
            .header("Cache-Control", "no-store");
        assert_eq!(
            String::from_utf8(response.to_bytes().to_vec()).unwrap(),
            "HTTP/1.1 302 Found\r\nLocation: http://x/Set-Cookie: a=b\r\nCache-Control: no-store\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let response = Response::new(200).body("application/json", "{}");
        assert_eq!(
            String::from_utf8(response.to_bytes().to_vec()).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }

    #[test]
    fn proc_addresses() {
        let address: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let expected = if cfg!(target_endian = "little") {
            ("0100007F:1F90", "0000000000000000FFFF00000100007F:1F90")
        } else {
            ("7F000001:1F90", "00000000000000000000FFFF7F000001:1F90")
        };
        assert_eq!(proc_address(address, false).as_deref(), Some(expected.0));
        assert_eq!(proc_address(address, true).as_deref(), Some(expected.1));
        assert_eq!(proc_address("[::1]:1".parse().unwrap(), false), None);
    }

    #[test]
    fn socket_owners() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A000 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:B000 0100007F:A000 06 00000000:00000000 03:00000CF6 00000000     0        0 0 3 0000000000000000
   2: 0100007F:C000 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1001        0 22222 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:A000 0100007F:C000 01 00000000:00000000 00:00000000 00000000  1000        0 33333 1 0000000000000000 20 4 30 10 -1
";
        let owner = |local: &str, remote: &str| socket_owner(table.as_bytes(), local, remote);
        assert_eq!(owner("0100007F:C000", "0100007F:A000"), Some(1001));
        assert_eq!(owner("0100007f:c000", "0100007f:a000"), Some(1001));
        // Our own end of the connection is not the peer's.
        assert_eq!(owner("0100007F:A000", "0100007F:C000"), Some(1000));
        // A closed socket (TIME_WAIT, inode 0) shows uid 0: it owns nothing.
        assert_eq!(owner("0100007F:B000", "0100007F:A000"), None);
        assert_eq!(owner("0100007F:D000", "0100007F:A000"), None);
        // The header line is never an entry.
        assert_eq!(owner("local_address", "rem_address"), None);
    }

    /// A connection to a loopback listener, and the server's end of it.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn reading_is_bounded() {
        // In pieces, within the deadline.
        let (mut client, server) = pair();
        let reader = std::thread::spawn(move || {
            read_request(&server, Instant::now() + Duration::from_secs(5)).map(|r| r.target)
        });
        for piece in ["GET /pie", "ces HTTP/1.1\r", "\n\r\n"] {
            client.write_all(piece.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(reader.join().unwrap().unwrap(), "/pieces");

        // A trickle that never ends: the deadline is for the whole head, not per read.
        let (mut client, server) = pair();
        let started = Instant::now();
        let reader = std::thread::spawn(move || {
            read_request(&server, Instant::now() + Duration::from_millis(300))
        });
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(50));
            if client.write_all(b"X").is_err() {
                break;
            }
        }
        assert!(matches!(reader.join().unwrap(), Err(ReadError::Timeout)));
        assert!(started.elapsed() < Duration::from_secs(2));

        // A flood with no line end: refused after MAX_REQUEST bytes.
        let (mut client, server) = pair();
        let reader = std::thread::spawn(move || {
            read_request(&server, Instant::now() + Duration::from_secs(5))
        });
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..64 {
            if client.write_all(&chunk).is_err() {
                break;
            }
        }
        assert!(matches!(
            reader.join().unwrap(),
            Err(ReadError::Parse(ParseError::TooLarge))
        ));

        // Closed early.
        let (mut client, server) = pair();
        client.write_all(b"GET / HT").unwrap();
        drop(client);
        assert!(matches!(
            read_request(&server, Instant::now() + Duration::from_secs(5)),
            Err(ReadError::Closed)
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn own_connections_are_ours() {
        let (client, server) = pair();
        assert_eq!(peer_owner(&server), Ok(Owner::Same));
        drop(client);
    }
}
