//! A console federation endpoint on 127.0.0.1 for `vault login` tests: it answers
//! `getSigninToken` and records what it was sent.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// A console federation endpoint on 127.0.0.1: answers `getSigninToken` with a fixed token
/// (or with `status` when it is not 200) and records each request's query string. Accepts
/// at most 16 connections; stops when dropped.
pub struct FakeFederation {
    pub url: String,
    queries: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeFederation {
    pub fn start(status: &'static str) -> FakeFederation {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/federation", listener.local_addr().unwrap());
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (recorded, stopped) = (queries.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut served = 0;
            while served < 16 && !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        stream.set_nonblocking(false).unwrap();
                        if let Some(query) = answer(stream, status) {
                            recorded.lock().unwrap().push(query);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("fake federation endpoint: {e}"),
                }
            }
        });
        FakeFederation {
            url,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    /// The parameters of each request, decoded.
    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.queries
            .lock()
            .unwrap()
            .iter()
            .map(|q| {
                q.split('&')
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        (decode(k), decode(v))
                    })
                    .collect()
            })
            .collect()
    }

    /// The credentials of the one `getSigninToken` request.
    pub fn session(&self) -> Value {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        let names: Vec<&str> = requests[0].iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Action", "Session"], "no SessionDuration");
        assert_eq!(requests[0][0].1, "getSigninToken");
        serde_json::from_str(&requests[0][1].1).unwrap()
    }
}

impl Drop for FakeFederation {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one GET and answers it; returns its query string.
fn answer(mut stream: TcpStream, status: &str) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request).into_owned();
    let target = head.split(' ').nth(1)?;
    let query = target.split_once('?').map_or("", |(_, q)| q).to_string();
    let body = r#"{"SigninToken":"fake-token-123"}"#;
    let response = if status == "200 OK" {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let _ = stream.write_all(response.as_bytes());
    Some(query)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
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
    String::from_utf8(out).unwrap()
}
