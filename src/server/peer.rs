//! Who owns the other end of a loopback TCP connection. On Linux: the kernel's answer to a
//! `NETLINK_SOCK_DIAG` lookup of that one socket by its exact 4-tuple (`idiag_uid`), built and
//! read as bytes by pure functions; `/proc/net/tcp` only where the kernel offers no sock_diag
//! socket at all. Elsewhere there is no lookup (`Owner::Unchecked`). It must not scan a table
//! where sock_diag answers, block (the kernel answers within the send), print, or guess: a
//! missing, foreign or malformed answer is an error, and the caller refuses the connection.

use std::io::BufRead;
use std::net::{SocketAddr, TcpStream};

/// Whether this platform can tell who owns a connection's other end. Where it cannot, every
/// local user's connections are served (`Owner::Unchecked`).
pub const CHECKED: bool = cfg!(target_os = "linux");

/// Who owns the peer's end of a connection, as far as the platform can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// vault's own (effective) uid.
    Same,
    Other(u32),
    /// This platform has no lookup (Linux only, for now).
    Unchecked,
}

impl Owner {
    #[cfg(target_os = "linux")]
    fn of(uid: u32) -> Owner {
        if uid == nix::unistd::geteuid().as_raw() {
            Owner::Same
        } else {
            Owner::Other(uid)
        }
    }
}

/// The owner of the peer's socket, with a lookup of its own (see `Lookup`).
pub fn peer_owner(stream: &TcpStream) -> Result<Owner, String> {
    Lookup::new().owner(stream)
}

/// Finds peers' owners, reusing one netlink socket: one per thread that checks connections.
/// Where the socket cannot be opened or the kernel cannot look up TCP sockets (see
/// `diag::probe`), it reads `/proc/net/tcp` instead.
pub struct Lookup {
    #[cfg(target_os = "linux")]
    diag: Result<diag::Socket, String>,
}

impl Default for Lookup {
    fn default() -> Lookup {
        Lookup::new()
    }
}

impl Lookup {
    pub fn new() -> Lookup {
        Lookup {
            #[cfg(target_os = "linux")]
            diag: diag::Socket::open(),
        }
    }

    /// Which way this lookup asks the kernel: for `--debug` lines.
    #[cfg(target_os = "linux")]
    pub fn method(&self) -> &'static str {
        if self.diag.is_ok() {
            "sock_diag"
        } else {
            "/proc/net/tcp"
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn method(&self) -> &'static str {
        "none on this platform"
    }

    /// The owner of the socket at the other end of `stream`.
    #[cfg(target_os = "linux")]
    pub fn owner(&mut self, stream: &TcpStream) -> Result<Owner, String> {
        let peer = stream.peer_addr().map_err(|e| e.to_string())?;
        let ours = stream.local_addr().map_err(|e| e.to_string())?;
        match &mut self.diag {
            Ok(socket) => socket.uid(peer, ours).map(Owner::of),
            // No sock_diag in this kernel or sandbox (gVisor, an LSM that denies netlink, no
            // `tcp_diag`): the table, which is what worked before, rather than refusing every
            // connection.
            Err(_) => proc_owner(peer, ours).map(Owner::of),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn owner(&mut self, _: &TcpStream) -> Result<Owner, String> {
        Ok(Owner::Unchecked)
    }
}

/// The `NETLINK_SOCK_DIAG` lookup: `SOCK_DIAG_BY_FAMILY` with an `inet_diag_req_v2` naming the
/// peer's socket exactly (local end = the peer's address, remote end = ours, no cookie), and
/// the `inet_diag_msg` the kernel answers with.
#[cfg(target_os = "linux")]
pub mod diag {
    use std::net::SocketAddr;
    use std::os::fd::{AsRawFd, OwnedFd};

    use nix::errno::Errno;
    use nix::sys::socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto,
        socket,
    };

    pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_DUMP: u16 = 0x300;
    /// `struct nlmsghdr`.
    const HEADER: usize = 16;
    /// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, then the sockid.
    const REQUEST: usize = 8 + SOCKID;
    /// `struct inet_diag_sockid`: ports, two 16-byte addresses, interface, cookie.
    const SOCKID: usize = 4 + 32 + 4 + 8;
    /// `struct inet_diag_msg`: family, state, timer, retrans, sockid, then five `u32`s.
    const MESSAGE: usize = 4 + SOCKID + 20;
    /// The whole request.
    pub const LEN: usize = HEADER + REQUEST;
    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 10;
    const IPPROTO_TCP: u8 = 6;
    const TCP_LISTEN: u8 = 10;
    const ENOENT: i32 = 2;

    /// The family and the 16-byte address field of a socket address.
    fn address(address: SocketAddr) -> (u8, [u8; 16]) {
        let mut bytes = [0u8; 16];
        match address {
            SocketAddr::V4(a) => {
                bytes[..4].copy_from_slice(&a.ip().octets());
                (AF_INET, bytes)
            }
            SocketAddr::V6(a) => (AF_INET6, a.ip().octets()),
        }
    }

    /// The `inet_diag_sockid` of the socket whose local end is `local` and remote end
    /// `remote`, without its interface and cookie: ports and addresses in network order.
    fn sockid(local: SocketAddr, remote: SocketAddr) -> [u8; 36] {
        let mut id = [0u8; 36];
        id[0..2].copy_from_slice(&local.port().to_be_bytes());
        id[2..4].copy_from_slice(&remote.port().to_be_bytes());
        id[4..20].copy_from_slice(&address(local).1);
        id[20..36].copy_from_slice(&address(remote).1);
        id
    }

    /// The request for the TCP socket whose local end is `peer` and remote end `ours` (the
    /// other end of our connection), with sequence number `seq`. `None` when the two are of
    /// different families. Pure.
    pub fn request(peer: SocketAddr, ours: SocketAddr, seq: u32) -> Option<[u8; LEN]> {
        let family = address(peer).0;
        if family != address(ours).0 {
            return None;
        }
        let mut bytes = [0u8; LEN];
        bytes[0..4].copy_from_slice(&(LEN as u32).to_ne_bytes());
        bytes[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        bytes[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
        // nlmsg_pid 0: the kernel.
        let req = &mut bytes[HEADER..];
        req[0] = family;
        req[1] = IPPROTO_TCP;
        // idiag_ext 0 (no extensions), pad 0; every state: an exact lookup names one socket.
        req[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        req[8..44].copy_from_slice(&sockid(peer, ours));
        // idiag_if 0 (any), then INET_DIAG_NOCOOKIE in both words.
        req[48..56].copy_from_slice(&[0xff; 8]);
        Some(bytes)
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    /// A dump of the TCP sockets in no state at all, which lists nothing: the kernel answers
    /// `NLMSG_DONE` if it can look up TCP sockets, and an error (`ENOENT`) if its `tcp_diag`
    /// is missing, which an exact lookup could not tell from a peer that has gone. Pure.
    pub fn probe(seq: u32) -> [u8; LEN] {
        let any: SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, 0).into();
        let mut bytes = request(any, any, seq).expect("one family");
        bytes[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        bytes[HEADER + 4..HEADER + 8].copy_from_slice(&0u32.to_ne_bytes());
        bytes
    }

    /// Whether `bytes` holds the `NLMSG_DONE` that answers `probe(seq)`. Pure.
    pub fn probe_answered(bytes: &[u8], seq: u32) -> bool {
        bytes.len() >= HEADER
            && u32_at(bytes, 0) as usize >= HEADER
            && u16::from_ne_bytes([bytes[4], bytes[5]]) == NLMSG_DONE
            && u32_at(bytes, 8) == seq
    }

    /// The uid in the kernel's answer (`bytes`, what one receive returned) to `request(peer,
    /// ours, seq)`. An error for anything but one live socket with exactly that 4-tuple: the
    /// kernel's error (`ENOENT`: the peer has gone), a closed socket (inode 0: TIME_WAIT or
    /// orphaned, which shows uid 0), a listener, a truncated or foreign message, or no answer
    /// to `seq` at all. Messages with another sequence number (a stale answer) are skipped.
    /// Pure.
    pub fn uid(bytes: &[u8], peer: SocketAddr, ours: SocketAddr, seq: u32) -> Result<u32, String> {
        let port = peer.port();
        let mut rest = bytes;
        while rest.len() >= HEADER {
            let len = u32_at(rest, 0) as usize;
            if len < HEADER || len > rest.len() {
                return Err(format!("a malformed sock_diag answer for port {port}"));
            }
            let (message, next) = rest.split_at(len);
            // Messages are 4-byte aligned.
            rest = next.get(len.next_multiple_of(4) - len..).unwrap_or(&[]);
            let kind = u16::from_ne_bytes([message[4], message[5]]);
            if u32_at(message, 8) != seq {
                continue;
            }
            let body = &message[HEADER..];
            if kind == NLMSG_ERROR {
                let Some(code) = body.get(..4) else {
                    return Err(format!("a malformed sock_diag error for port {port}"));
                };
                // The kernel sends -errno; any other word is not a panic (i32::MIN has no negation).
                let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]).wrapping_neg();
                return Err(if code == ENOENT {
                    format!("no socket from port {port} (it has closed)")
                } else {
                    format!(
                        "sock_diag could not look up port {port}: {}",
                        Errno::from_raw(code).desc()
                    )
                });
            }
            if kind != SOCK_DIAG_BY_FAMILY || body.len() < MESSAGE {
                return Err(format!("a malformed sock_diag answer for port {port}"));
            }
            let (family, state) = (body[0], body[1]);
            if family != address(peer).0 || body[4..40] != sockid(peer, ours) {
                return Err(format!(
                    "sock_diag answered for another socket than port {port}'s"
                ));
            }
            if state == TCP_LISTEN {
                return Err(format!("the socket at port {port} is a listener"));
            }
            let (uid, inode) = (u32_at(body, 64), u32_at(body, 68));
            if inode == 0 {
                return Err(format!("the socket from port {port} has closed"));
            }
            return Ok(uid);
        }
        Err(format!("no sock_diag answer for port {port}"))
    }

    /// A `NETLINK_SOCK_DIAG` socket and the next sequence number.
    pub struct Socket {
        fd: OwnedFd,
        seq: u32,
    }

    impl Socket {
        pub fn open() -> Result<Socket, String> {
            let fd = socket(
                AddressFamily::Netlink,
                SockType::Datagram,
                SockFlag::SOCK_CLOEXEC,
                SockProtocol::NetlinkSockDiag,
            )
            .map_err(|e| format!("no sock_diag socket: {}", e.desc()))?;
            let socket = Socket { fd, seq: 1 };
            socket.probe()?;
            Ok(socket)
        }

        /// Whether this kernel answers for TCP sockets (see `probe`).
        fn probe(&self) -> Result<(), String> {
            let fd = self.fd.as_raw_fd();
            sendto(fd, &probe(1), &NetlinkAddr::new(0, 0), MsgFlags::empty())
                .map_err(|e| format!("sock_diag: {}", e.desc()))?;
            let mut answer = [0u8; 1024];
            let len = recv(fd, &mut answer, MsgFlags::MSG_DONTWAIT)
                .map_err(|e| format!("sock_diag: {}", e.desc()))?;
            if probe_answered(&answer[..len], 1) {
                Ok(())
            } else {
                Err("sock_diag does not answer for TCP sockets".to_string())
            }
        }

        /// The uid owning the socket whose local end is `peer` and remote end `ours`.
        pub fn uid(&mut self, peer: SocketAddr, ours: SocketAddr) -> Result<u32, String> {
            self.seq = self.seq.wrapping_add(1);
            let seq = self.seq;
            let request = request(peer, ours, seq)
                .ok_or_else(|| format!("port {} is of another address family", peer.port()))?;
            let fd = self.fd.as_raw_fd();
            sendto(fd, &request, &NetlinkAddr::new(0, 0), MsgFlags::empty())
                .map_err(|e| format!("sock_diag: {}", e.desc()))?;
            // The kernel has answered by the time the send returns: never wait.
            let mut answer = [0u8; 8192];
            loop {
                let len = match recv(fd, &mut answer, MsgFlags::MSG_DONTWAIT) {
                    Ok(len) => len,
                    Err(Errno::EINTR) => continue,
                    Err(Errno::EAGAIN) => {
                        return Err(format!("no sock_diag answer for port {}", peer.port()));
                    }
                    Err(e) => return Err(format!("sock_diag: {}", e.desc())),
                };
                match uid(&answer[..len], peer, ours, seq) {
                    // A stale answer to an earlier request: read on.
                    Err(e) if e.starts_with("no sock_diag answer") => continue,
                    result => return result,
                }
            }
        }
    }
}

/// The owner of the socket from `peer` to `ours` in `/proc/net/tcp` (or `tcp6`): the fallback
/// where there is no sock_diag. Costs a scan of the machine's whole table.
#[cfg(target_os = "linux")]
fn proc_owner(peer: SocketAddr, ours: SocketAddr) -> Result<u32, String> {
    for (table, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let (Some(local), Some(remote)) = (proc_address(peer, v6), proc_address(ours, v6)) else {
            continue;
        };
        let file = match std::fs::File::open(table) {
            Ok(file) => file,
            Err(e) if v6 && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("could not read `{table}`: {e}")),
        };
        if let Some(uid) = socket_owner(std::io::BufReader::new(file), &local, &remote) {
            return Ok(uid);
        }
    }
    Err(format!(
        "no socket from port {} in /proc/net/tcp",
        peer.port()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[cfg(target_os = "linux")]
    #[test]
    fn own_connections_are_ours() {
        let (client, server) = pair();
        let mut lookup = Lookup::new();
        assert_eq!(lookup.method(), "sock_diag");
        assert_eq!(lookup.owner(&server), Ok(Owner::Same));
        // The same socket, asked again on the same netlink socket.
        assert_eq!(lookup.owner(&server), Ok(Owner::Same));
        assert_eq!(peer_owner(&server), Ok(Owner::Same));
        // The fallback agrees.
        let (peer, ours) = (server.peer_addr().unwrap(), server.local_addr().unwrap());
        assert_eq!(proc_owner(peer, ours), Ok(nix::unistd::geteuid().as_raw()));
        // Once the peer has closed, its socket owns nothing: refused, not root's.
        drop(client);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let gone = lookup.owner(&server);
        assert!(gone.is_err(), "{gone:?}");
    }

    #[cfg(target_os = "linux")]
    mod sock_diag {
        use super::super::diag::{LEN, SOCK_DIAG_BY_FAMILY, request, uid};
        use std::net::SocketAddr;

        fn addresses() -> (SocketAddr, SocketAddr) {
            (
                "127.0.0.1:50000".parse().unwrap(),
                "127.0.0.2:8080".parse().unwrap(),
            )
        }

        #[test]
        fn requests() {
            let (peer, ours) = addresses();
            let bytes = request(peer, ours, 7).unwrap();
            let mut expected = Vec::new();
            expected.extend_from_slice(&(LEN as u32).to_ne_bytes());
            expected.extend_from_slice(&20u16.to_ne_bytes());
            expected.extend_from_slice(&1u16.to_ne_bytes()); // NLM_F_REQUEST, no dump
            expected.extend_from_slice(&7u32.to_ne_bytes());
            expected.extend_from_slice(&0u32.to_ne_bytes());
            expected.extend_from_slice(&[2, 6, 0, 0]); // AF_INET, IPPROTO_TCP
            expected.extend_from_slice(&u32::MAX.to_ne_bytes());
            expected.extend_from_slice(&[0xc3, 0x50, 0x1f, 0x90]); // ports, big-endian
            expected.extend_from_slice(&[127, 0, 0, 1]);
            expected.extend_from_slice(&[0; 12]);
            expected.extend_from_slice(&[127, 0, 0, 2]);
            expected.extend_from_slice(&[0; 12]);
            expected.extend_from_slice(&[0; 4]); // any interface
            expected.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
            assert_eq!(bytes.to_vec(), expected);

            let v6: SocketAddr = "[::1]:50000".parse().unwrap();
            let bytes = request(v6, "[::1]:8080".parse().unwrap(), 1).unwrap();
            assert_eq!(bytes[16], 10); // AF_INET6
            assert_eq!(bytes[28..44], std::net::Ipv6Addr::LOCALHOST.octets());
            assert_eq!(request(v6, ours, 1), None);
        }

        #[test]
        fn probes() {
            use super::super::diag::{probe, probe_answered};
            let bytes = probe(9);
            assert_eq!(bytes[6..8], 0x301u16.to_ne_bytes()); // a dump
            assert_eq!(bytes[20..24], [0; 4]); // of no state
            assert_eq!(bytes[24..60], [0; 36]); // for no address
            assert!(probe_answered(&message(3, 9, &[0; 4]), 9));
            assert!(!probe_answered(&message(3, 8, &[0; 4]), 9));
            assert!(!probe_answered(&error(9, 2), 9));
            assert!(!probe_answered(&[3, 0, 0], 9));
        }

        /// The kernel's answer for the peer's socket: `inet_diag_msg` then an attribute.
        fn answer(seq: u32, state: u8, uid: u32, inode: u32) -> Vec<u8> {
            let (peer, ours) = addresses();
            let request = request(peer, ours, seq).unwrap();
            let mut body = vec![2, state, 0, 0];
            body.extend_from_slice(&request[24..72]);
            body.extend_from_slice(&[0; 12]); // expires, rqueue, wqueue
            body.extend_from_slice(&uid.to_ne_bytes());
            body.extend_from_slice(&inode.to_ne_bytes());
            body.extend_from_slice(&[5, 0, 8, 0, 0, 0, 0, 0]); // INET_DIAG_SHUTDOWN, padded
            message(SOCK_DIAG_BY_FAMILY, seq, &body)
        }

        fn message(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
            bytes.extend_from_slice(&kind.to_ne_bytes());
            bytes.extend_from_slice(&0u16.to_ne_bytes());
            bytes.extend_from_slice(&seq.to_ne_bytes());
            bytes.extend_from_slice(&4242u32.to_ne_bytes());
            bytes.extend_from_slice(body);
            bytes
        }

        fn error(seq: u32, errno: i32) -> Vec<u8> {
            let mut body = (-errno).to_ne_bytes().to_vec();
            body.extend_from_slice(&request(addresses().0, addresses().1, seq).unwrap()[..16]);
            message(2, seq, &body)
        }

        #[test]
        fn answers() {
            let (peer, ours) = addresses();
            let read = |bytes: &[u8]| uid(bytes, peer, ours, 3);
            assert_eq!(read(&answer(3, 1, 1001, 12345)), Ok(1001));
            assert_eq!(read(&answer(3, 1, 0, 12345)), Ok(0));
            // A stale answer first, then ours.
            let mut two = answer(2, 1, 1002, 1);
            two.extend(answer(3, 1, 1001, 12345));
            assert_eq!(read(&two), Ok(1001));

            let refused = |bytes: &[u8], says: &str| {
                let got = read(bytes);
                assert!(
                    got.as_ref().is_err_and(|e| e.contains(says)),
                    "{says}: {got:?}"
                );
            };
            refused(&error(3, 2), "no socket from port 50000 (it has closed)");
            refused(&error(3, 1), "sock_diag could not look up port 50000");
            // A word that is no -errno (the fuzzer found i32::MIN, whose negation overflowed).
            let mut odd = error(3, 2);
            odd[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
            refused(&odd, "sock_diag could not look up port 50000");
            // Closed (TIME_WAIT, orphaned): uid 0 with no inode is nobody's, not root's.
            refused(&answer(3, 6, 0, 0), "has closed");
            refused(&answer(3, 10, 1001, 9), "is a listener");
            refused(&answer(2, 1, 1001, 9), "no sock_diag answer");
            refused(&[], "no sock_diag answer");
            refused(&[1, 2, 3], "no sock_diag answer");
            // Truncated anywhere, with its length as sent or relabelled: never a uid.
            let whole = answer(3, 1, 1001, 12345);
            for cut in 0..whole.len() {
                let mut bytes = whole[..cut].to_vec();
                assert!(read(&bytes).is_err(), "cut at {cut}");
                if (16..16 + 72).contains(&cut) {
                    bytes[0..4].copy_from_slice(&(cut as u32).to_ne_bytes());
                    assert!(read(&bytes).is_err(), "cut at {cut} and relabelled");
                }
            }
            let mut short_header = whole.clone();
            short_header[0..4].copy_from_slice(&8u32.to_ne_bytes());
            refused(&short_header, "malformed");
            let mut error_cut = error(3, 2);
            error_cut.truncate(18);
            error_cut[0..4].copy_from_slice(&18u32.to_ne_bytes());
            refused(&error_cut, "malformed sock_diag error");
            // Another socket: a port, an address or the family differs.
            for at in [16, 16 + 4, 16 + 5, 16 + 11, 16 + 24] {
                let mut other = whole.clone();
                other[at] ^= 1;
                refused(&other, "another socket");
            }
            let mut other = whole.clone();
            other[4..6].copy_from_slice(&21u16.to_ne_bytes());
            refused(&other, "malformed");
        }
    }
}
