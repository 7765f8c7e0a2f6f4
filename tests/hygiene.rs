//! Secret hygiene: `Debug` of every type that can hold a secret redacts it, and no secret
//! reaches a process's argv, `--debug` output or a config file.

mod support;

use secrecy::SecretString;
use support::{PASSPHRASE, World};
use vault::config::parse::parse;
use vault::config::profiles::ProfileSet;
use vault::config::resolve::{Overrides, Resolver};
use vault::store::Credentials;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[test]
fn debug_output_redacts_every_secret() {
    let text = format!(
        "[profile p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\naws_session_token = token-{SECRET}\n"
    );
    let sections = parse(&text).unwrap();
    let set = ProfileSet::new(&sections, &[]);
    let none = |_: &str| false;
    let resolver = Resolver::new(&set, &none);
    let profile = resolver.profile("p", &Overrides::default()).unwrap();
    let chain = resolver.chain("p", &Overrides::default()).unwrap();
    let credentials = Credentials {
        access_key_id: "ASIAEXAMPLE".into(),
        secret_access_key: SecretString::from(SECRET),
        session_token: Some(SecretString::from(format!("token-{SECRET}"))),
        expiration: Some(1),
    };
    let shown = [
        format!("{sections:?}"),
        format!("{set:?}"),
        format!("{profile:?}"),
        format!("{chain:?}"),
        format!("{credentials:?}"),
        serde_json::to_string(&chain).unwrap(),
        serde_json::to_string(&profile).unwrap(),
    ];
    for text in shown {
        assert!(!text.contains(SECRET), "a secret in {text}");
    }
}

#[test]
fn no_secret_in_any_argv_or_debug_line() {
    let world = World::new();
    let jane_secret = world.moto.user("jane")["secret_access_key"]
        .as_str()
        .unwrap()
        .to_string();
    // vault stays the parent under --server: the child lists every process's argv, vault's
    // own included, while vault holds the keys and the session.
    let script = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done";
    let run = world.run(&[
        "--debug",
        "exec",
        "--server",
        "-t",
        &world.code(0),
        "target-account",
        "--",
        "sh",
        "-c",
        script,
    ]);
    let argvs = run.ok().to_string();
    assert!(
        argvs.contains("vault --debug exec --server"),
        "vault's own argv is listed: {argvs}"
    );
    let exported = world.run(&["export", "--format", "json", "target-account"]);
    let session: serde_json::Value = serde_json::from_str(exported.ok()).unwrap();
    let token = session["SessionToken"].as_str().unwrap();
    let session_secret = session["SecretAccessKey"].as_str().unwrap();
    for secret in [jane_secret.as_str(), token, session_secret, PASSPHRASE] {
        assert!(!argvs.contains(secret), "a secret in a process's argv");
        assert!(!run.stderr.contains(secret), "a secret in --debug output");
    }
    let config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    for secret in [jane_secret.as_str(), token, session_secret] {
        assert!(!config.contains(secret), "a secret in the config file");
    }
}
