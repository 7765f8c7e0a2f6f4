//! The connections of vault's loopback servers (`exec --server`'s and `--ec2-server`'s
//! endpoints, `login`'s one-shot redirect): the listener's queue, the owner check of each
//! connection off the accept thread (`peer.rs` finds the owner), and a thread per connection
//! of vault's own user up to a small cap, with a bounded line waiting for one. It must not
//! read from a peer it has not checked (beyond seeing that it has gone), keep a connection of
//! another user past its check, wait on the accept thread for anything but a full queue, or
//! print: a `Handler` is told.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::http::{ParseError, ReadError, Request, Response, read_request};
use super::peer::{Lookup, Owner};

/// How much time and room a connection gets.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// For the whole request head, counted from when a thread takes the connection: not per
    /// read.
    pub deadline: Duration,
    /// Connections (that passed the owner check) answered at once; up to `MAX_WAITING` more
    /// wait for a thread, and further ones are closed.
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

/// Why a connection was closed before its request was read.
#[derive(Debug)]
pub enum Refused {
    /// The peer's socket belongs to another user (this uid).
    OtherUser(u32),
    /// The peer's socket could not be found, so its owner is unknown.
    Unknown(String),
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

    /// A connection closed before its request was read: it is not vault's user's. Called on
    /// a checker thread, for every such connection: it should cost little.
    fn refused(&self, peer: SocketAddr, why: &Refused);
}

/// The listen queue vault asks for: the system's largest (`SOMAXCONN`; Linux caps it at
/// `net.core.somaxconn`, 4096 by default) rather than std's 128, so that while other users'
/// connections are checked and refused, the own user's are queued, not dropped.
pub fn listen_loopback() -> io::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    nix::sys::socket::listen(&listener, nix::sys::socket::Backlog::MAXCONN)?;
    Ok(listener)
}

/// Threads that check the owners of accepted connections, off the accept thread.
const CHECKERS: usize = 2;

/// Accepted connections waiting for their owner check, over all checkers. When a checker's
/// share is full, `handle` waits, and further connections wait in the kernel's listen queue.
const CHECK_QUEUE: usize = 256;

/// Connections of vault's own user that wait for a free thread once `Limits::connections`
/// are being answered; further ones are closed at once.
pub const MAX_WAITING: usize = 64;

/// Answers connections for a `Handler`, each on its own thread, at most `connections` at a
/// time, and only those of vault's own user where the platform can tell.
///
/// The connection's way: `handle` (the accept thread) only queues it. One of `CHECKERS`
/// threads looks up the owner of its peer (`peer::Lookup`: one sock_diag request, no table
/// scan) and closes it at once if that is another user or nobody. So another uid's
/// connections hold nothing past their check: no thread, no place in the waiting line, no
/// read. Only the own user's (or, where there is no check, everyone's) reach the pool: up to
/// `connections` answered at once, `MAX_WAITING` more waiting their turn.
pub struct Server<H> {
    /// One queue per checker thread, taken in turn.
    intake: Vec<SyncSender<TcpStream>>,
    turn: AtomicUsize,
    /// For checking on the caller's thread when no checker thread could be started.
    inline: Option<(Mutex<Lookup>, Arc<H>, Arc<Pool>)>,
}

impl<H: Handler> Server<H> {
    pub fn new(handler: Arc<H>, limits: Limits) -> Server<H> {
        let pool = Arc::new(Pool {
            line: Mutex::new(Line::default()),
            limits: Limits {
                connections: limits.connections.max(1),
                ..limits
            },
        });
        let mut intake = Vec::new();
        for _ in 0..CHECKERS {
            let (sender, queue) = mpsc::sync_channel::<TcpStream>(CHECK_QUEUE / CHECKERS);
            let (handler, pool) = (Arc::clone(&handler), Arc::clone(&pool));
            let checker = std::thread::Builder::new()
                .name("vault-check".to_string())
                .spawn(move || {
                    let mut lookup = Lookup::new();
                    // Ends when the `Server`, and so its intake, is gone.
                    for stream in queue {
                        check(stream, &mut lookup, &handler, &pool);
                    }
                });
            if checker.is_ok() {
                intake.push(sender);
            }
        }
        Server {
            inline: intake
                .is_empty()
                .then(|| (Mutex::new(Lookup::new()), handler, pool)),
            intake,
            turn: AtomicUsize::new(0),
        }
    }

    /// Takes one accepted connection: drops it if the peer has already gone without sending
    /// anything (a connect-then-close flood costs no more than this), else queues it for its
    /// owner check and returns, waiting only while a checker's queue is full.
    pub fn handle(&self, stream: TcpStream) {
        if closed_unheard(&stream) {
            return;
        }
        if let Some((lookup, handler, pool)) = &self.inline {
            let mut lookup = lookup.lock().unwrap_or_else(|p| p.into_inner());
            return check(stream, &mut lookup, handler, pool);
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % self.intake.len();
        let _ = self.intake[turn].send(stream);
    }
}

/// Refuses the connection at once if another user, or nobody, owns the peer; else hands it
/// to the pool.
fn check<H: Handler>(stream: TcpStream, lookup: &mut Lookup, handler: &Arc<H>, pool: &Arc<Pool>) {
    let Ok(peer) = stream.peer_addr() else { return };
    let refused = match lookup.owner(&stream) {
        Ok(Owner::Same | Owner::Unchecked) => None,
        Ok(Owner::Other(uid)) => Some(Refused::OtherUser(uid)),
        Err(problem) => Some(Refused::Unknown(problem)),
    };
    if let Some(why) = refused {
        // Closed before anything is read from it or written to it.
        drop(stream);
        handler.refused(peer, &why);
        return;
    }
    pool.start(stream, peer, handler);
}

/// Whether the peer has closed its end without sending anything: a peek that takes nothing
/// and does not wait, the only look at a connection before its owner check. Such a
/// connection can carry no request, so it is closed unheard, with no lookup.
fn closed_unheard(stream: &TcpStream) -> bool {
    use nix::sys::socket::{MsgFlags, recv};
    use std::os::fd::AsRawFd;
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(stream.as_raw_fd(), &mut byte, flags), Ok(0))
}

/// The threads that answer connections, and the connections waiting for one.
struct Pool {
    line: Mutex<Line>,
    limits: Limits,
}

#[derive(Default)]
struct Line {
    busy: usize,
    waiting: VecDeque<(TcpStream, SocketAddr)>,
}

impl Pool {
    /// Answers the connection on a thread of its own, or queues it if `connections` threads
    /// are busy, or closes it if `MAX_WAITING` already wait.
    fn start<H: Handler>(self: &Arc<Pool>, stream: TcpStream, peer: SocketAddr, handler: &Arc<H>) {
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        if line.busy >= self.limits.connections {
            if line.waiting.len() < MAX_WAITING {
                line.waiting.push_back((stream, peer));
            }
            return;
        }
        line.busy += 1;
        drop(line);
        let (pool, handler) = (Arc::clone(self), Arc::clone(handler));
        let spawned = std::thread::Builder::new()
            .name("vault-http".to_string())
            .spawn(move || {
                let mut next = Some((stream, peer));
                while let Some((stream, peer)) = next {
                    // From here, not from accept: time spent waiting is not the peer's.
                    let deadline = Instant::now() + pool.limits.deadline;
                    answer(&stream, peer, &*handler, &pool.limits, deadline);
                    drop(stream);
                    next = pool.next();
                }
            });
        if spawned.is_err() {
            // The connection went with the thread that did not start.
            let _ = self.next().map(drop);
        }
    }

    /// The next waiting connection for a thread that is done, or `None` and one thread fewer.
    fn next(&self) -> Option<(TcpStream, SocketAddr)> {
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        let next = line.waiting.pop_front();
        if next.is_none() {
            line.busy -= 1;
        }
        next
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A connection to a loopback listener, and the server's end of it.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// Answers 200 once `release` lets it (each request takes one message), and says when a
    /// request has come in.
    struct Gate {
        entered: Mutex<mpsc::Sender<()>>,
        release: Mutex<mpsc::Receiver<()>>,
    }

    impl Handler for Gate {
        fn respond(&self, _: &Request, _: SocketAddr) -> Response {
            let _ = self.entered.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv();
            Response::new(200)
        }

        fn refused(&self, _: SocketAddr, why: &Refused) {
            panic!("an own connection was refused: {why:?}");
        }
    }

    fn gate() -> (Arc<Gate>, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered, entries) = mpsc::channel();
        let (releases, release) = mpsc::channel();
        let gate = Gate {
            entered: Mutex::new(entered),
            release: Mutex::new(release),
        };
        (Arc::new(gate), entries, releases)
    }

    /// What a client that sent a request reads back, to the end.
    fn reply(mut client: TcpStream) -> String {
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut text = String::new();
        let _ = client.read_to_string(&mut text);
        text
    }

    #[test]
    fn the_pool_answers_in_turn_then_closes() {
        let (gate, entries, releases) = gate();
        let pool = Arc::new(Pool {
            line: Mutex::new(Line::default()),
            limits: Limits {
                connections: 1,
                ..Limits::default()
            },
        });
        let mut clients = Vec::new();
        for _ in 0..MAX_WAITING + 2 {
            let (mut client, server) = pair();
            client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
            let peer = server.peer_addr().unwrap();
            pool.start(server, peer, &gate);
            if clients.is_empty() {
                // The first is being answered: the others wait.
                entries.recv().unwrap();
            }
            clients.push(client);
        }
        // One answered, `MAX_WAITING` waiting, and the last closed at once, unanswered.
        assert_eq!(pool.line.lock().unwrap().waiting.len(), MAX_WAITING);
        assert_eq!(reply(clients.pop().unwrap()), "");
        for _ in 0..=MAX_WAITING {
            releases.send(()).unwrap();
        }
        for client in clients {
            assert!(reply(client).starts_with("HTTP/1.1 200 OK\r\n"));
        }
        // The thread is done and gone (it says so just after its last answer is closed).
        for _ in 0..1000 {
            if pool.line.lock().unwrap().busy == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let line = pool.line.lock().unwrap();
        assert_eq!((line.busy, line.waiting.len()), (0, 0));
    }

    #[test]
    fn the_server_checks_then_answers() {
        let (gate, entries, releases) = gate();
        let listener = listen_loopback().unwrap();
        let address = listener.local_addr().unwrap();
        let server = Server::new(
            gate,
            Limits {
                connections: 2,
                ..Limits::default()
            },
        );
        assert!(
            server.inline.is_none(),
            "the checks run on threads of their own"
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().take(12) {
                server.handle(stream.unwrap());
            }
        });
        let clients: Vec<TcpStream> = (0..12)
            .map(|_| {
                let mut client = TcpStream::connect(address).unwrap();
                client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
                client
            })
            .collect();
        for _ in 0..12 {
            releases.send(()).unwrap();
        }
        for client in clients {
            assert!(reply(client).starts_with("HTTP/1.1 200 OK\r\n"));
        }
        assert_eq!(entries.try_iter().count(), 12);
    }
}
