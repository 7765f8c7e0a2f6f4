//! The browser step of a sign-in, as `aws login` makes it: PKCE with `SHA-256`, a `state`,
//! the `/v1/authorize` URL for the same-device flow (a loopback redirect) or the
//! cross-device one (the user pastes a code), and reading what comes back (the callback's
//! query, or the pasted code: base64 of `state=..&code=..`). Pure but for the random numbers.
//! Must not: let the verifier or a code reach `Debug`, an error or a log.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CROSS_DEVICE, SAME_DEVICE};

/// The AWS CLI's verifier alphabet (RFC 7636's unreserved characters) and length.
const VERIFIER_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const VERIFIER_LEN: usize = 64;

/// What one sign-in attempt needs to remember between the URL and the code grant.
pub struct Request {
    /// `arn:aws:signin:::devtools/same-device` or `.../cross-device`.
    pub client_id: &'static str,
    /// The loopback callback, or the service's confirmation page (cross-device).
    pub redirect_uri: String,
    pub state: String,
    pub verifier: SecretString,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Where the code comes back: to vault's own callback on 127.0.0.1, or typed in by a person
/// who signed in on another device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// `http://127.0.0.1:<port>/oauth/callback`.
    SameDevice {
        port: u16,
    },
    CrossDevice,
}

impl Request {
    /// A fresh verifier and state for `flow`, with the service at `base` (`scheme://host`).
    pub fn new(flow: &Flow, base: &str) -> Request {
        let (client_id, redirect_uri) = match flow {
            Flow::SameDevice { port } => (
                SAME_DEVICE,
                format!("http://127.0.0.1:{port}/oauth/callback"),
            ),
            Flow::CrossDevice => (
                CROSS_DEVICE,
                format!("{}/v1/sessions/confirmation", base.trim_end_matches('/')),
            ),
        };
        Request {
            client_id,
            redirect_uri,
            state: super::dpop::uuid4(),
            verifier: new_verifier(),
        }
    }

    /// `base64url(SHA-256(verifier))`, unpadded.
    pub fn challenge(&self) -> String {
        challenge(self.verifier.expose_secret())
    }

    /// `{base}/v1/authorize?...`: the AWS CLI's parameters in its order, each percent-encoded
    /// but for `-._~`, and the challenge last.
    pub fn url(&self, base: &str) -> String {
        let params = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("state", &self.state),
            ("code_challenge_method", "SHA-256"),
            ("scope", "openid"),
            ("redirect_uri", &self.redirect_uri),
        ];
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        format!(
            "{}/v1/authorize?{}&code_challenge={}",
            base.trim_end_matches('/'),
            query.join("&"),
            self.challenge()
        )
    }

    /// The code from the callback's query (`code` and `state`, or `error`): `None` when the
    /// request is not an answer at all (a favicon fetch, a probe), which does not end the wait.
    pub fn from_callback(&self, query: &str) -> Option<Result<SecretString, Refusal>> {
        let fields = parse_query(query);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(error) = field("error") {
            return Some(Err(if field("state") == Some(self.state.as_str()) {
                Refusal::Denied(error.to_string())
            } else {
                Refusal::StateMismatch
            }));
        }
        let code = field("code")?;
        Some(self.checked(field("state"), code))
    }

    /// What a person pasted (cross-device): standard base64 of `state=<state>&code=<code>`.
    pub fn from_pasted(&self, pasted: &str) -> Result<SecretString, Refusal> {
        let text: String = pasted.chars().filter(|c| !c.is_whitespace()).collect();
        let text = Zeroizing::new(text);
        let bytes = STANDARD
            .decode(text.as_bytes())
            .or_else(|_| STANDARD_NO_PAD.decode(text.as_bytes()))
            .map(Zeroizing::new)
            .map_err(|_| Refusal::NotACode)?;
        let decoded = std::str::from_utf8(&bytes).map_err(|_| Refusal::NotACode)?;
        let fields = parse_query(decoded);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let code = field("code").ok_or(Refusal::NotACode)?;
        self.checked(field("state"), code)
    }

    fn checked(&self, state: Option<&str>, code: &str) -> Result<SecretString, Refusal> {
        if state != Some(self.state.as_str()) {
            return Err(Refusal::StateMismatch);
        }
        if code.is_empty() || code.len() > 512 {
            return Err(Refusal::NotACode);
        }
        Ok(SecretString::from(code))
    }
}

/// Why a sign-in's answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The `state` is not this sign-in's: someone else's answer, or a forged one.
    StateMismatch,
    /// The service said no (`error=access_denied`, ...): the text is the service's.
    Denied(String),
    /// What was pasted is not a sign-in code.
    NotACode,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::StateMismatch => f.write_str(
                "the answer's `state` is not this sign-in's (another sign-in's answer, or a forged one)",
            ),
            Refusal::Denied(error) => write!(f, "the sign-in was refused: `{error}`"),
            Refusal::NotACode => f.write_str(
                "that is not a sign-in code (the code the sign-in page shows after you sign in)",
            ),
        }
    }
}

fn new_verifier() -> SecretString {
    let mut out = Zeroizing::new(String::with_capacity(VERIFIER_LEN));
    while out.len() < VERIFIER_LEN {
        // 198 = 3 * 66: bytes at or above it are dropped, so each character is equally likely.
        for b in crate::store::crypto::random::<32>() {
            if usize::from(b) < 3 * VERIFIER_ALPHABET.len() && out.len() < VERIFIER_LEN {
                out.push(VERIFIER_ALPHABET[usize::from(b) % VERIFIER_ALPHABET.len()] as char);
            }
        }
    }
    SecretString::from(out.as_str())
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// botocore's `percent_encode`: every byte but ASCII letters, digits and `-._~`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a=1&b=%20x` → pairs, `+` as a space, as Python's `parse_qsl` reads a query.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(flow: Flow) -> Request {
        Request::new(&flow, "https://us-east-1.signin.aws.amazon.com")
    }

    #[test]
    fn the_url_is_the_aws_clis() {
        let r = Request {
            client_id: SAME_DEVICE,
            redirect_uri: "http://127.0.0.1:53123/oauth/callback".into(),
            state: "6a0c2f1e-1111-4222-8333-444455556666".into(),
            verifier: SecretString::from("a".repeat(64)),
        };
        assert_eq!(
            r.url("https://us-east-1.signin.aws.amazon.com/"),
            "https://us-east-1.signin.aws.amazon.com/v1/authorize?response_type=code\
             &client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device\
             &state=6a0c2f1e-1111-4222-8333-444455556666&code_challenge_method=SHA-256\
             &scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A53123%2Foauth%2Fcallback\
             &code_challenge=_-BU_nrgy23GXDr5th1SCfQ5hR20PQulmXM33xVGaOs"
        );
    }

    #[test]
    fn pkce_is_sha_256_of_the_verifier_unpadded() {
        // RFC 7636 appendix B's verifier and challenge.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let r = request(Flow::SameDevice { port: 1 });
        let verifier = r.verifier.expose_secret();
        assert_eq!(verifier.len(), 64);
        assert!(verifier.bytes().all(|b| VERIFIER_ALPHABET.contains(&b)));
        assert_ne!(
            verifier,
            request(Flow::CrossDevice).verifier.expose_secret()
        );
        assert!(
            r.url("https://x")
                .ends_with(&format!("code_challenge={}", r.challenge()))
        );
        assert!(!r.url("https://x").contains(verifier));
    }

    #[test]
    fn cross_device_uses_its_client_and_the_confirmation_page() {
        let r = request(Flow::CrossDevice);
        assert_eq!(r.client_id, CROSS_DEVICE);
        assert_eq!(
            r.redirect_uri,
            "https://us-east-1.signin.aws.amazon.com/v1/sessions/confirmation"
        );
        assert!(
            r.url("https://us-east-1.signin.aws.amazon.com")
                .contains("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device")
        );
    }

    #[test]
    fn the_callback_gives_the_code_only_with_this_state() {
        let r = request(Flow::SameDevice { port: 5 });
        let ok = format!("code=abc%2Bdef&state={}", r.state);
        assert_eq!(
            r.from_callback(&ok).unwrap().unwrap().expose_secret(),
            "abc+def"
        );
        assert_eq!(
            r.from_callback("code=abc&state=other")
                .unwrap()
                .unwrap_err(),
            Refusal::StateMismatch
        );
        assert_eq!(
            r.from_callback("code=abc").unwrap().unwrap_err(),
            Refusal::StateMismatch
        );
        let denied = format!("error=access_denied&state={}", r.state);
        assert_eq!(
            r.from_callback(&denied).unwrap().unwrap_err(),
            Refusal::Denied("access_denied".into())
        );
        assert_eq!(
            r.from_callback("error=access_denied&state=x")
                .unwrap()
                .unwrap_err(),
            Refusal::StateMismatch
        );
        // Not an answer: the wait goes on.
        assert!(r.from_callback("").is_none());
        assert!(r.from_callback("favicon=1").is_none());
        let long = format!("code={}&state={}", "c".repeat(513), r.state);
        assert_eq!(
            r.from_callback(&long).unwrap().unwrap_err(),
            Refusal::NotACode
        );
    }

    #[test]
    fn a_pasted_code_is_base64_of_state_and_code() {
        let r = request(Flow::CrossDevice);
        let pasted = STANDARD.encode(format!("state={}&code=the-code", r.state));
        assert_eq!(
            r.from_pasted(&format!("  {pasted}\n"))
                .unwrap()
                .expose_secret(),
            "the-code"
        );
        assert_eq!(
            r.from_pasted(pasted.trim_end_matches('='))
                .unwrap()
                .expose_secret(),
            "the-code"
        );
        let other = STANDARD.encode("state=someone-else&code=the-code");
        assert_eq!(r.from_pasted(&other).unwrap_err(), Refusal::StateMismatch);
        assert_eq!(r.from_pasted("not base64!").unwrap_err(), Refusal::NotACode);
        assert_eq!(
            r.from_pasted(&STANDARD.encode(format!("state={}", r.state)))
                .unwrap_err(),
            Refusal::NotACode
        );
        assert_eq!(
            r.from_pasted(&STANDARD.encode([0xff, 0xfe])).unwrap_err(),
            Refusal::NotACode
        );
    }

    #[test]
    fn queries_decode_as_python_does() {
        assert_eq!(
            parse_query("a=1&b=x+y%21&c&=d&e=%zz%4"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("c".into(), "".into()),
                ("".into(), "d".into()),
                ("e".into(), "%zz%4".into()),
            ]
        );
        assert_eq!(percent_encode("a b/~"), "a%20b%2F~");
    }
}
