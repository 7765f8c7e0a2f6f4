//! DPoP (RFC 9449) as the Sign-In service takes it: a P-256 key (read from SEC1 or PKCS#8
//! PEM, written as SEC1 PEM as the AWS CLI does), its JWK and RFC 7638 thumbprint, and the
//! ES256 proof that goes in the `DPoP` header of every `CreateOAuth2Token` call. Pure but
//! for the random numbers of a new key and a `jti`. Must not: let the private key reach
//! `Debug`, an error or a log.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::SecretKey;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A session's DPoP key. The refresh token is bound to its thumbprint, so the same key must
/// sign every refresh for the session's life (up to 12 hours).
#[derive(Clone)]
pub struct Key(SecretKey);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key")
            .field(&format_args!("<redacted>"))
            .finish()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.public_key() == other.0.public_key()
    }
}

/// The public half as a JWK's members: unpadded base64url of the 32-byte coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub x: String,
    pub y: String,
}

impl Key {
    /// A fresh key, as `aws login` makes one per sign-in. One whose public coordinates start
    /// with a zero byte is drawn again: awscrt (botocore's crypto) drops leading zero bytes
    /// of a coordinate, so botocore would present that key with a 31-byte `x` or `y`, whose
    /// thumbprint is not the one the refresh token is bound to. Every client presents the
    /// keys vault makes the same way.
    pub fn generate() -> Key {
        loop {
            let bytes = Zeroizing::new(crate::store::crypto::random::<32>());
            let Ok(key) = SecretKey::from_slice(&bytes[..]) else {
                continue; // zero or not below the group order: draw again
            };
            let point = key.public_key().to_encoded_point(false);
            let full = |c: Option<&p256::FieldBytes>| c.is_some_and(|c| c[0] != 0);
            if full(point.x()) && full(point.y()) {
                return Key(key);
            }
        }
    }

    /// The `dpopKey` of a cache file: SEC1 (`BEGIN EC PRIVATE KEY`, what the AWS CLI writes)
    /// or PKCS#8 (`BEGIN PRIVATE KEY`, what botocore also reads). A literal `\n` counts as a
    /// newline, as the Rust SDK reads it. The error names the form, never the key.
    pub fn from_pem(text: &str) -> Result<Key, String> {
        let text = Zeroizing::new(text.replace("\\n", "\n"));
        let trimmed = text.trim();
        if trimmed.starts_with("-----BEGIN EC PRIVATE KEY-----") {
            SecretKey::from_sec1_pem(trimmed)
                .map(Key)
                .map_err(|_| "its `dpopKey` is not a P-256 key in SEC1 PEM".to_string())
        } else if trimmed.starts_with("-----BEGIN PRIVATE KEY-----") {
            SecretKey::from_pkcs8_pem(trimmed)
                .map(Key)
                .map_err(|_| "its `dpopKey` is not a P-256 key in PKCS#8 PEM".to_string())
        } else {
            Err("its `dpopKey` is not a PEM private key (`BEGIN EC PRIVATE KEY`)".to_string())
        }
    }

    /// SEC1 PEM with the curve named (`prime256v1`) and the public key, 64-column lines and
    /// a closing newline, as the AWS CLI (and OpenSSL) write it.
    pub fn to_sec1_pem(&self) -> Zeroizing<String> {
        // Through PKCS#8, which carries the curve's name into the SEC1 `parameters`.
        sec1::EncodeEcPrivateKey::to_sec1_pem(&self.0, sec1::LineEnding::LF)
            .expect("a P-256 key encodes")
    }

    pub fn jwk(&self) -> Jwk {
        let point = self.0.public_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| {
            URL_SAFE_NO_PAD.encode(c.expect("an uncompressed point has both coordinates"))
        };
        Jwk {
            x: coordinate(point.x()),
            y: coordinate(point.y()),
        }
    }

    /// RFC 7638: base64url SHA-256 of `{"crv","kty","x","y"}` in that order, no spaces. The
    /// service binds the refresh token to it (`cnf.jkt`).
    pub fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.x, jwk.y
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The `DPoP` header for a POST to `url` (the exact request URL, `htu`) at `iat` (Unix
    /// seconds) with the unique `jti`: a compact JWS, ES256, raw `r||s` signature. The
    /// header and claims are botocore's, in its order.
    pub fn proof(&self, url: &str, iat: u64, jti: &str) -> String {
        let jwk = self.jwk();
        let quoted = |s: &str| serde_json::to_string(s).expect("a string serializes");
        // Written out rather than through a map, which would sort the members.
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","x":{},"y":{},"crv":"P-256"}}}}"#,
            quoted(&jwk.x),
            quoted(&jwk.y)
        );
        let claims = format!(
            r#"{{"htm":"POST","htu":{},"iat":{iat},"jti":{}}}"#,
            quoted(url),
            quoted(jti)
        );
        let part = |v: &str| URL_SAFE_NO_PAD.encode(v.as_bytes());
        let message = format!("{}.{}", part(&header), part(&claims));
        // RFC 6979 deterministic nonces: no second random source to trust.
        let signature: Signature = SigningKey::from(&self.0).sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// A random UUID (version 4) in its usual text form: DPoP `jti`s and OAuth `state`s, as the
/// AWS CLI makes them.
pub fn uuid4() -> String {
    let mut b = crate::store::crypto::random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::store::crypto::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    /// aws-config 1.13.0 `src/login/dpop.rs` tests: this SEC1 key has these coordinates.
    const AWS_CONFIG_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_aws_config_test_vector() {
        let key = Key::from_pem(AWS_CONFIG_KEY).unwrap();
        assert_eq!(
            key.jwk(),
            Jwk {
                x: "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic".into(),
                y: "fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg".into(),
            }
        );
        // Written back as the AWS CLI writes it: the same SEC1 PEM, byte for byte.
        assert_eq!(key.to_sec1_pem().as_str(), AWS_CONFIG_KEY);
        // A literal `\n` (as some writers leave it) reads the same.
        let escaped = AWS_CONFIG_KEY.replace('\n', "\\n");
        assert_eq!(Key::from_pem(&escaped).unwrap(), key);
    }

    #[test]
    fn pkcs8_reads_as_the_same_key() {
        use p256::pkcs8::EncodePrivateKey;
        let key = Key::from_pem(AWS_CONFIG_KEY).unwrap();
        let pkcs8 = key.0.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(Key::from_pem(&pkcs8).unwrap(), key);
    }

    #[test]
    fn bad_keys_are_named_not_quoted() {
        for text in [
            "",
            "not a key",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let problem = Key::from_pem(text).unwrap_err();
            assert!(problem.contains("`dpopKey`"), "{problem}");
            assert!(!problem.contains("AAAA"), "{problem}");
        }
        let debug = format!("{:?}", Key::from_pem(AWS_CONFIG_KEY).unwrap());
        assert_eq!(debug, "Key(<redacted>)");
    }

    #[test]
    fn a_proof_is_botocores_jws_and_verifies() {
        let key = Key::from_pem(AWS_CONFIG_KEY).unwrap();
        let url = "https://us-east-1.signin.aws.amazon.com/v1/token";
        let proof = key.proof(url, 1651516560, "4f0c7a5e-2a3b-4c1d-8e9f-0a1b2c3d4e5f");
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        // botocore's exact bytes for the header and claims (compact JSON, its key order).
        assert_eq!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap(),
            r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":"Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic","y":"fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg","crv":"P-256"}}"#
        );
        assert_eq!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
            format!(
                r#"{{"htm":"POST","htu":"{url}","iat":1651516560,"jti":"4f0c7a5e-2a3b-4c1d-8e9f-0a1b2c3d4e5f"}}"#
            )
        );
        assert_eq!(decode(parts[1])["htu"], url);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64, "raw r||s");
        let verifying = VerifyingKey::from(key.0.public_key());
        let signature = Signature::from_slice(&signature).unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        verifying.verify(message.as_bytes(), &signature).unwrap();
        assert!(verifying.verify(b"another message", &signature).is_err());
    }

    #[test]
    fn the_thumbprint_is_rfc_7638() {
        // RFC 7638 section 3.1's method on the test vector's members, worked by hand.
        let key = Key::from_pem(AWS_CONFIG_KEY).unwrap();
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic","y":"fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg"}"#;
        assert_eq!(
            key.thumbprint(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn new_keys_differ_and_have_full_coordinates() {
        let keys: Vec<Key> = (0..32).map(|_| Key::generate()).collect();
        for (i, key) in keys.iter().enumerate() {
            let jwk = key.jwk();
            for c in [&jwk.x, &jwk.y] {
                let bytes = URL_SAFE_NO_PAD.decode(c).unwrap();
                assert_eq!(bytes.len(), 32);
                assert_ne!(bytes[0], 0);
            }
            assert!(keys[..i].iter().all(|k| k != key));
            assert_eq!(
                Key::from_pem(&key.to_sec1_pem()).unwrap(),
                *key,
                "round trip"
            );
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let a = uuid4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!("89ab".contains(&a[19..20]));
        assert_ne!(a, uuid4());
    }
}
