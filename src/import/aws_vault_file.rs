//! aws-vault's `file` backend as a source: one JWE (PBES2-HS256+A128KW, A256GCM) per key in
//! `~/.awsvault/keys`, each possibly under its own passphrase. It reads and decrypts; it
//! must not write, rename or delete anything in that folder, nor spin on a costly header.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{Found, Kind};
use crate::error::{Error, Result};
use crate::prompt::Prompt;
use crate::store::fs;

/// The most PBKDF2 rounds a header may ask for: aws-vault writes 8192 (jose2go's default;
/// jose2go refuses more than 1,300,000), jwcrypto writes 8192 and reads at most 16384. A
/// larger count is refused before any work is done.
pub const MAX_P2C: u64 = 100_000;

/// The most PBKDF2 rounds one passphrase is tried for, over all the files: 20 files at
/// 1,000,000 rounds, or about 2,400 of aws-vault's. A folder that would cost more stops the
/// import before the next file (`--profile` narrows the files tried).
pub const MAX_ROUNDS_PER_PASSPHRASE: u64 = 20 * 1_000_000;

/// aws-vault writes a few hundred bytes per file.
const MAX_TOKEN: u64 = 64 * 1024;

const ALG: &str = "PBES2-HS256+A128KW";

/// Why a token did not open.
#[derive(Debug, PartialEq, Eq)]
pub enum JweError {
    /// Not a token aws-vault writes (shape, header, sizes).
    Malformed(String),
    /// The key does not unwrap: another passphrase (or a damaged key part).
    WrongPassphrase,
    /// The key unwrapped but the content does not decrypt: the file is damaged.
    Damaged,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    p2c: u64,
    p2s: String,
}

fn segment(part: &str, what: &str) -> std::result::Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JweError::Malformed(format!("its {what} is not base64url")))
}

/// A token's parts, checked, before any key is derived.
struct Parsed<'a> {
    header_b64: &'a str,
    p2c: u64,
    p2s: Vec<u8>,
    wrapped: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    body: Vec<u8>,
}

/// Everything `decrypt` checks before it derives a key: the shape, the header, the sizes.
fn parse(token: &[u8]) -> std::result::Result<Parsed<'_>, JweError> {
    let text = std::str::from_utf8(token)
        .map_err(|_| JweError::Malformed("it is not text".into()))?
        .trim_ascii();
    let parts: Vec<&str> = text.split('.').collect();
    let [header_b64, key_b64, iv_b64, ciphertext_b64, tag_b64] = parts[..] else {
        return Err(JweError::Malformed(format!(
            "it has {} parts, not the 5 of a JWE",
            parts.len()
        )));
    };
    let header: Header = serde_json::from_slice(&segment(header_b64, "header")?)
        .map_err(|_| JweError::Malformed("its header is not a PBES2 JWE header".into()))?;
    if header.alg != ALG || header.enc != "A256GCM" {
        return Err(JweError::Malformed(format!(
            "it uses `{}`/`{}`, not aws-vault's {ALG}/A256GCM",
            crate::text::printable(&header.alg),
            crate::text::printable(&header.enc)
        )));
    }
    if header.p2c == 0 || header.p2c > MAX_P2C {
        return Err(JweError::Malformed(format!(
            "its header asks for {} key-derivation rounds (aws-vault writes 8192; at most {MAX_P2C} are accepted)",
            header.p2c
        )));
    }
    let parsed = Parsed {
        header_b64,
        p2c: header.p2c,
        p2s: segment(&header.p2s, "salt")?,
        wrapped: segment(key_b64, "key")?,
        iv: segment(iv_b64, "IV")?,
        tag: segment(tag_b64, "tag")?,
        body: segment(ciphertext_b64, "content")?,
    };
    if parsed.p2s.len() < 8
        || parsed.wrapped.len() != 40
        || parsed.iv.len() != 12
        || parsed.tag.len() != 16
    {
        return Err(JweError::Malformed("a part has the wrong length".into()));
    }
    Ok(parsed)
}

/// The plaintext of one aws-vault JWE compact token.
pub fn decrypt(
    token: &[u8],
    passphrase: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, JweError> {
    let Parsed {
        header_b64,
        p2c,
        p2s,
        wrapped,
        iv,
        tag,
        mut body,
    } = parse(token)?;
    let mut salt = Vec::with_capacity(ALG.len() + 1 + p2s.len());
    salt.extend_from_slice(ALG.as_bytes());
    salt.push(0);
    salt.extend_from_slice(&p2s);
    let mut kek = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase, &salt, p2c as u32, &mut *kek);
    let mut cek = Zeroizing::new([0u8; 32]);
    aes_kw::KekAes128::new(&(*kek).into())
        .unwrap(&wrapped, &mut *cek)
        .map_err(|_| JweError::WrongPassphrase)?;

    body.extend_from_slice(&tag);
    let cipher = aes_gcm::Aes256Gcm::new(&(*cek).into());
    cipher
        .decrypt(
            aes_gcm::Nonce::from_slice(&iv),
            Payload {
                msg: &body,
                aad: header_b64.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| JweError::Damaged)
}

/// The PBKDF2 rounds `decrypt` would run for `token`: 0 for one it refuses before any work.
fn cost(token: &[u8]) -> u64 {
    parse(token).map_or(0, |parsed| parsed.p2c)
}

/// A file name as aws-vault wrote it: `%XX` escapes (it escapes only `/` and `%`).
pub fn unescape(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One credential file, and what came of it so far.
struct Pending {
    name: String,
    file: String,
    token: Vec<u8>,
}

/// Reads every credential in `dir` (those named in `wanted`, when it is not empty).
/// Passphrases: `first` (from `AWS_VAULT_FILE_PASSPHRASE`)
/// if given, else one asked for; while files remain that do not open, they are named and
/// another passphrase is asked for, until the answer is empty or no terminal answers.
pub fn read(
    dir: &Path,
    wanted: &[String],
    first: Option<SecretString>,
    prompt: &mut dyn Prompt,
) -> Result<Vec<Found>> {
    if !fs::check_dir(dir)? {
        return Err(Error::ImportSource {
            source: format!(
                "aws-vault's file store `{}`",
                crate::paths::display_path(dir)
            ),
            problem: "there is no such folder".into(),
            hint: "name the folder with `--dir`, or pick another store with `--from`".into(),
        });
    }
    let entries = std::fs::read_dir(dir).map_err(fs::io_error("read", dir))?;
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(fs::io_error("read", dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();

    let mut found = Vec::new();
    let mut pending = Vec::new();
    for file in names {
        // `.DS_Store`, editors' and vault's own temp files: not aws-vault's.
        if file.starts_with('.') {
            crate::debug!("import: ignoring `{file}`");
            continue;
        }
        let path: PathBuf = dir.join(&file);
        let Some(name) = unescape(&file) else {
            found.push(Found::failed(
                &file,
                "its file name is not one aws-vault writes",
            ));
            continue;
        };
        if super::kind(&name) != Kind::Credential {
            crate::debug!("import: skipping the cached session or token `{name}`");
            continue;
        }
        // `--profile` narrows the work, not only the report: other files are not read, and
        // no key is derived for them.
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        match fs::read_file(&path, MAX_TOKEN) {
            Ok(Some(token)) => pending.push(Pending { name, file, token }),
            Ok(None) => {}
            Err(e) => found.push(Found::failed(&name, &e.to_string())),
        }
    }
    if pending.is_empty() {
        return Ok(found);
    }

    let question = format!(
        "Enter passphrase to unlock \"{}\": ",
        crate::paths::display_path(dir)
    );
    let mut passphrase = match first {
        Some(p) => p,
        None => SecretString::from(prompt.ask(&question, true)?.to_string()),
    };
    loop {
        let mut still = Vec::new();
        // What this passphrase would cost on the files left, before any of it is spent.
        let mut spent: u64 = 0;
        let fit = pending
            .iter()
            .take_while(|item| {
                spent += cost(&item.token);
                spent <= MAX_ROUNDS_PER_PASSPHRASE
            })
            .count();
        if fit < pending.len() {
            let total: u64 = pending.iter().map(|item| cost(&item.token)).sum();
            return Err(Error::ImportSource {
                source: format!(
                    "aws-vault's file store `{}`",
                    crate::paths::display_path(dir)
                ),
                problem: format!(
                    "its {} files ask for {total} key-derivation rounds, more than the {MAX_ROUNDS_PER_PASSPHRASE} vault spends on one passphrase (aws-vault writes 8192 a file); {} would be left untried",
                    pending.len(),
                    match pending.len() - fit {
                        1 => "1 file".to_string(),
                        left => format!("{left} files"),
                    }
                ),
                hint: "nothing was imported; name the profiles to import with `--profile`, and only their files are tried".into(),
            });
        }
        for item in pending {
            match decrypt(&item.token, passphrase.expose_secret().as_bytes()) {
                Ok(plain) => found.push(match super::credentials_from_item(&plain) {
                    Some(keys) => Found::keys(&item.name, keys),
                    None => Found::failed(&item.name, "its content is not an aws-vault credential"),
                }),
                Err(JweError::WrongPassphrase) => still.push(item),
                Err(JweError::Malformed(why)) => found.push(Found::failed(
                    &item.name,
                    &format!("`{}` is not an aws-vault file: {why}", item.file),
                )),
                Err(JweError::Damaged) => found.push(Found::failed(
                    &item.name,
                    &format!("`{}` is damaged: its content does not decrypt", item.file),
                )),
            }
        }
        if still.is_empty() {
            return Ok(found);
        }
        for item in &still {
            crate::text::warn(format_args!(
                "`{}` does not open with this passphrase",
                item.file
            ));
        }
        let again = prompt.ask(
            "Enter another passphrase for these files (empty: go on without them): ",
            true,
        );
        match again {
            Ok(answer) if !answer.is_empty() => {
                passphrase = SecretString::from(answer.to_string());
                pending = still;
            }
            _ => {
                for item in still {
                    found.push(Found::failed(
                        &item.name,
                        &format!("`{}` does not open with the passphrases given", item.file),
                    ));
                }
                return Ok(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_like_percent_decode() {
        assert_eq!(unescape("abc%2F..%2F.%2F123").unwrap(), "abc/.././123");
        assert_eq!(unescape("team%2fdev").unwrap(), "team/dev");
        assert_eq!(unescape("100%25").unwrap(), "100%");
        assert!(unescape("bad%2").is_none());
        assert!(unescape("bad%zz").is_none());
    }

    #[test]
    fn costly_and_malformed_tokens_are_refused_without_work() {
        let header = |p2c: u64| {
            URL_SAFE_NO_PAD.encode(format!(
                r#"{{"alg":"{ALG}","enc":"A256GCM","p2c":{p2c},"p2s":"AAAAAAAAAAAAAAAA"}}"#
            ))
        };
        let started = std::time::Instant::now();
        let token = format!("{}.AA.AA.AA.AA", header(4_000_000_000));
        let err = decrypt(token.as_bytes(), b"pw").unwrap_err();
        assert!(
            matches!(&err, JweError::Malformed(m) if m.contains("4000000000")),
            "{err:?}"
        );
        assert!(started.elapsed().as_secs() < 1);
        assert!(matches!(
            decrypt(b"eyJhbGciOi", b"pw"),
            Err(JweError::Malformed(_))
        ));
        assert!(matches!(
            decrypt(b"\xff\xfe", b"pw"),
            Err(JweError::Malformed(_))
        ));
        let token = format!("{}.AA.AA.AA.AA", header(8192));
        assert!(matches!(
            decrypt(token.as_bytes(), b"pw"),
            Err(JweError::Malformed(_))
        ));
    }
}
