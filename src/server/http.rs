//! The HTTP/1.1 of vault's loopback servers: a request head parsed by a pure, strict parser
//! and read from a connection against a deadline and a size cap; a response and its bytes.
//! The connections themselves (the listener, the owner check, the threads) are
//! `connections.rs`'s, re-exported here so that a server is written against this one module.
//! It knows no routes and no connections: it must not print, read without a deadline and a
//! cap, or keep a request's secrets.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

pub use super::connections::{Handler, Limits, MAX_WAITING, Refused, Server, listen_loopback};
pub use super::peer::{Owner, peer_owner};
use zeroize::Zeroizing;

/// The largest request head (request line and headers) read; a longer one gets 431.
pub const MAX_REQUEST: usize = 8 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

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
}
