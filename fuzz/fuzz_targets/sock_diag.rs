//! Any bytes as the kernel's `sock_diag` answer when a local server (`exec --server`,
//! `--ec2-server`) asks who owns a connection's other end: the parser never panics, and it
//! names a uid only when the message that answers the request's sequence number is for
//! exactly the peer's socket (its family and 4-tuple), live and not a listener; the uid is
//! that message's, and no byte after that message is read.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use vault::server::peer::diag::{SOCK_DIAG_BY_FAMILY, probe_answered, request, uid};

const SEQ: u32 = 7;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the family; the rest is what one receive returned.
    let (peer, ours): (SocketAddr, SocketAddr) = match data.first() {
        Some(b) if b & 1 == 1 => (
            "[::1]:50000".parse().unwrap(),
            "[::1]:8080".parse().unwrap(),
        ),
        _ => (
            "127.0.0.1:50000".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
        ),
    };
    let answer = data.get(1..).unwrap_or(&[]);
    let _ = probe_answered(answer, SEQ);
    let result = uid(answer, peer, ours, SEQ);
    let Ok(found) = result else { return };

    // Walk the messages again, by the netlink rules, to the one that answers SEQ.
    let asked = request(peer, ours, SEQ).expect("one family");
    let mut at = 0;
    let end = loop {
        assert!(
            at + 16 <= answer.len(),
            "a uid with no answer to the request"
        );
        let len = u32_at(answer, at) as usize;
        assert!(
            len >= 16 && at + len <= answer.len(),
            "a uid past a malformed message"
        );
        if u32_at(answer, at + 8) == SEQ {
            let message = &answer[at..at + len];
            let body = &message[16..];
            assert_eq!(
                u16::from_ne_bytes([message[4], message[5]]),
                SOCK_DIAG_BY_FAMILY
            );
            assert_eq!(body[0], asked[16], "the peer's family");
            assert_eq!(body[4..40], asked[24..60], "the peer's 4-tuple");
            assert_ne!(body[1], 10, "a listener");
            assert_ne!(u32_at(body, 68), 0, "a closed socket");
            assert_eq!(u32_at(body, 64), found);
            break at + len;
        }
        at += len.next_multiple_of(4);
    };
    // Nothing after the deciding message counts: cut there, or followed by anything.
    assert_eq!(uid(&answer[..end], peer, ours, SEQ), result);
    let mut longer = answer[..end].to_vec();
    longer.extend_from_slice(&[0xff; 40]);
    assert_eq!(uid(&longer, peer, ours, SEQ), result);
});
