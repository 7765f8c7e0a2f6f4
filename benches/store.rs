//! Whole-process and in-process costs of the store, on this machine:
//! - `vault list` with 1,000 profiles and 1,000 cached sessions (the release binary, spawned);
//! - `vault list --profiles` with a 10,000-profile config;
//! - reading one entry from an unlocked file store, in process.
//!
//! Run with `cargo bench --bench store`; prints medians.

mod timing;

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use secrecy::SecretString;
use timing::time;
use vault::prompt::Scripted;
use vault::store::crypto::Kdf;
use vault::store::file::{FileStore, Unlock};
use vault::store::{Credentials, EntryId, SessionKey, Store, now};

fn store(dir: &Path, ttl: Duration) -> FileStore {
    FileStore::new(
        dir.to_path_buf(),
        Unlock {
            passphrase: Some(SecretString::from("bench passphrase")),
            prompt: Box::new(Scripted::default()),
            ttl,
            new_kdf: Kdf::new,
        },
    )
}

fn vault(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vault"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("AWS_VAULT_BACKEND", "file")
        .stdout(Stdio::null());
    command
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // VAULT_BENCH_HOME keeps the fixture for profiling; by default it is a temp dir.
    let temp = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("VAULT_BENCH_HOME").map(std::path::PathBuf::from);
    let home = kept.as_deref().unwrap_or(temp.path());
    let dir = home.join(".local/share/vault");
    std::fs::create_dir_all(home.join(".aws")).unwrap();

    let mut config = String::from("[profile base]\nregion = eu-west-1\n");
    for i in 0..1000 {
        config.push_str(&format!(
            "[profile team-{i}]\nsource_profile = base\nrole_arn = arn:aws:iam::{:012}:role/admin\n",
            100_000_000_000u64 + i
        ));
    }
    std::fs::write(home.join(".aws/config"), &config).unwrap();

    let mut s = store(&dir, Duration::ZERO);
    let keys = Credentials::keys(
        "AKIAIOSFODNN7EXAMPLE".into(),
        SecretString::from("x".repeat(40)),
    );
    s.put(
        &EntryId::Keys {
            profile: "base".into(),
        },
        &keys,
    )
    .unwrap();
    for i in 0..1000 {
        let key = SessionKey {
            kind: "sts.AssumeRole".into(),
            profile: format!("team-{i}"),
            mfa_serial: None,
            source: "base".into(),
            params: "bench".into(),
        };
        let session = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SecretString::from("y".repeat(40)),
            session_token: Some(SecretString::from("z".repeat(300))),
            expiration: Some(now() + 3600),
        };
        s.put(&EntryId::Session(key), &session).unwrap();
    }

    let list = time(31, || {
        let status = vault(home, &["list"]).status().unwrap();
        assert!(status.success());
    });

    let mut big = String::new();
    for i in 0..10_000 {
        big.push_str(&format!(
            "[profile p{i}]\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/r\n"
        ));
    }
    std::fs::write(home.join(".aws/config"), &big).unwrap();
    let list_profiles = time(31, || {
        let status = vault(home, &["list", "--profiles"]).status().unwrap();
        assert!(status.success());
    });

    let base = EntryId::Keys {
        profile: "base".into(),
    };
    let mut unlocked = store(&dir, Duration::ZERO);
    unlocked.get(&base).unwrap();
    let read_unlocked = time(1001, || {
        black_box(unlocked.get(&base).unwrap());
    });
    // A new process's view: open the store, unlock from the kernel keyring cache, read.
    store(&dir, Duration::from_secs(60)).get(&base).unwrap();
    let read_cached = time(201, || {
        black_box(store(&dir, Duration::from_secs(60)).get(&base).unwrap());
    });

    println!("store benchmarks (medians):");
    println!(
        "  vault list, 1,000 profiles + 1,000 sessions (whole process)  {:8.2} ms",
        ms(list)
    );
    println!(
        "  vault list --profiles, 10,000 profiles (whole process)       {:8.2} ms",
        ms(list_profiles)
    );
    println!(
        "  read one entry, store already unlocked (in process)          {:8.3} ms",
        ms(read_unlocked)
    );
    println!(
        "  open + unlock from kernel keyring cache + read (in process)  {:8.3} ms",
        ms(read_cached)
    );
}
