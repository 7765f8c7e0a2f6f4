//! The two programs: `vault` serves the warm path itself (`src/warm.rs`) and hands every
//! other command line to `vault-full`. A copy of `vault` alone in a folder proves which is
//! which: what it answers, it answered without `vault-full`; the rest fails to hand over.
//! Both answer alike.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Run, World};

const FULL: &str = env!("CARGO_BIN_EXE_vault-full");

/// `vault` copied into a folder of its own, with no `vault-full` beside it.
fn lone_vault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault");
    std::fs::copy(env!("CARGO_BIN_EXE_vault"), &path).unwrap();
    (dir, path)
}

fn run(world: &World, program: &Path, args: &[&str]) -> Run {
    Run::from(
        world
            .home
            .child(program.to_str().unwrap(), args)
            .output()
            .unwrap(),
    )
}

/// The `AWS_*` lines of `env` run by `vault exec PROFILE`, sorted.
fn aws_env(world: &World, program: &Path, profile: &str) -> Vec<String> {
    let run = run(world, program, &["exec", profile, "--", "env"]);
    let mut lines: Vec<String> = run
        .ok()
        .lines()
        .filter(|l| l.starts_with("AWS_"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn the_warm_path_runs_without_vault_full_and_answers_as_it_does() {
    let world = World::new();
    let code = world.code(0);
    world
        .run(&["exec", "-t", &code, "target-account", "--", "true"])
        .ok();
    world.run(&["exec", "readonly", "--", "true"]).ok();
    let (_dir, lone) = lone_vault();
    let full = Path::new(FULL);

    for args in [
        &["export", "--format", "json", "target-account"][..],
        &["export", "readonly", "--format", "ini"],
        &["export", "readonly"],
        &["list"],
        &["list", "--sessions"],
        &["list", "--credentials"],
        &["list", "--profiles"],
        &["--version"],
        &["--version", "--verbose"],
        &["version"],
    ] {
        let warm = run(&world, &lone, args);
        let whole = run(&world, full, args);
        assert_eq!(warm.ok(), whole.ok(), "{args:?}");
        assert_eq!(warm.stderr, whole.stderr, "{args:?}");
    }
    let json = run(
        &world,
        &lone,
        &["export", "--format", "json", "target-account"],
    );
    assert!(json.ok().contains("\"SessionToken\""), "{}", json.stdout);

    for profile in ["target-account", "readonly"] {
        let warm = aws_env(&world, &lone, profile);
        assert_eq!(warm, aws_env(&world, full, profile));
        assert!(
            warm.iter().any(|l| l.starts_with("AWS_SESSION_TOKEN=")),
            "{warm:?}"
        );
        assert!(warm.contains(&format!("AWS_VAULT={profile}")), "{warm:?}");
    }
    // The command gets the real arguments, `--` and all after it.
    let echoed = run(
        &world,
        &lone,
        &["exec", "readonly", "--", "echo", "-n", "--", "a b"],
    );
    assert_eq!(echoed.ok(), "-- a b");
}

#[test]
fn everything_else_is_handed_to_vault_full() {
    let world = World::new();
    world.run(&["exec", "readonly", "--", "true"]).ok();
    let (_dir, lone) = lone_vault();
    // Cold (no session yet), an option, another command, a nested shell, a stale session:
    // none is served by `vault` alone, so each tries `vault-full`.
    let stale = [("AWS_MIN_TTL", "2h")];
    let nested = [("AWS_VAULT", "readonly")];
    // Without HOME, the home folder comes from the user database (glibc's NSS modules,
    // which a static `vault` would load at run time).
    let no_home = [("HOME", "")];
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (&["exec", "gds-users", "--", "true"], &[]),
        (
            &["exec", "--region", "eu-west-2", "readonly", "--", "true"],
            &[],
        ),
        (&["exec", "readonly", "--", "true"], &nested),
        (&["exec", "readonly", "--", "true"], &stale),
        (&["export", "--format", "json", "readonly"], &stale),
        (&["show", "readonly"], &[]),
        (&["--debug", "list"], &[]),
        (&["list", "--bogus"], &[]),
        (&["list"], &no_home),
    ];
    for (args, env) in cases {
        let mut command = world.home.child(lone.to_str().unwrap(), args);
        command.envs(env.iter().copied());
        let run = Run::from(command.output().unwrap());
        let err = run.fails();
        assert!(
            err.contains("vault-full` is missing: this install of vault is broken")
                && err.contains(
                    "\nhint: install both programs, with `cargo install --locked --path .`"
                ),
            "{args:?} {env:?}: {err}"
        );
    }
    // A static `vault` cannot load what LD_PRELOAD names (libfaketime's clock, say).
    if env!("VAULT_LINKED") == "static" {
        let mut command = world.home.child(lone.to_str().unwrap(), &["list"]);
        command.env("LD_PRELOAD", "libc.so.6");
        let run = Run::from(command.output().unwrap());
        let err = run.fails();
        assert!(err.contains("vault-full"), "LD_PRELOAD: {err}");
    }
    // A keys file damaged after it was indexed: `list` still answers from the index, so
    // `vault` cannot tell from the file alone whether the keys are stored, and steps aside.
    let store = world.home.path().join(".local/share/vault");
    let keys: Vec<PathBuf> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("keys-")
        })
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let answered = run(&world, &lone, &["export", "readonly"]);
    assert!(answered.ok().contains("AWS_SESSION_TOKEN"), "{answered:#?}");
    std::fs::write(&keys[0], "{").unwrap();
    let handed = run(&world, &lone, &["export", "readonly"]);
    let err = handed.fails();
    assert!(err.contains("vault-full"), "{err}");
    let whole = world.run(&["export", "readonly"]);
    assert!(whole.ok().contains("AWS_SESSION_TOKEN"), "{whole:#?}");
    // Through the installed pair the same command lines work, and vault-full's messages
    // still name `vault`.
    let err = world.run(&["exec", "--bogus", "readonly"]);
    assert_eq!(err.status, Some(2), "{err:#?}");
    assert!(err.stderr.contains("Usage: vault exec"), "{}", err.stderr);
    let ok = Command::new(FULL).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        format!("vault {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// What makes `vault-full` slow to start is not linked into `vault`: its symbols (this is the
/// unstripped test build) name none of the SDK, the HTTP and TLS stack, tokio, D-Bus, clap's
/// parser, or vault's own modules that use them (SSO's cache keys are pure, and linked).
#[test]
fn vault_links_nothing_of_the_cold_path() {
    let symbols = |program: &str| {
        let out = Command::new("nm").args(["-C", program]).output().unwrap();
        assert!(out.status.success(), "nm {program}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let warm = symbols(env!("CARGO_BIN_EXE_vault"));
    let full = symbols(FULL);
    for name in [
        "aws_sdk_sts::",
        "aws_smithy_runtime::",
        "hyper::",
        "rustls::",
        "tokio::",
        "dbus::",
        " keyring::",
        "clap_builder::parser::",
        "vault::sts::aws::",
        "vault::sso::aws::",
        "vault::sso::login::",
        "vault::signin::aws::",
        "vault::signin::session::",
        "p256::",
        "vault::prompt::terminal::",
        "vault::prompt::picker::",
        "vault::store::keychain::",
        "vault::run",
    ] {
        // The check can fail: `vault-full` has each of them.
        assert!(full.contains(name), "vault-full lacks {name}");
        let found: Vec<&str> = warm.lines().filter(|l| l.contains(name)).take(3).collect();
        assert!(found.is_empty(), "`vault` links {name}: {found:?}");
    }
}

/// `vault` is linked as build.rs chose (static where glibc's static libraries are at hand, as
/// on every machine CI runs on); `vault-full` is linked dynamically either way.
#[test]
fn vault_is_linked_as_the_build_chose() {
    let interpreter = |program: &str| {
        let out = Command::new("readelf")
            .args(["-l", program])
            .output()
            .unwrap();
        assert!(out.status.success(), "readelf {program}");
        String::from_utf8_lossy(&out.stdout).contains("INTERP")
    };
    assert!(interpreter(FULL), "vault-full has no dynamic loader");
    let linked = env!("VAULT_LINKED");
    let want_static = cfg!(all(target_os = "linux", target_env = "gnu"))
        && std::env::var_os("VAULT_LINK").is_none_or(|v| v != "dynamic");
    assert_eq!(
        linked == "static",
        want_static,
        "build.rs linked vault {linked} (glibc's static libraries missing? VAULT_LINK=dynamic builds it so)"
    );
    assert_eq!(
        interpreter(env!("CARGO_BIN_EXE_vault")),
        linked == "dynamic",
        "build.rs said {linked}"
    );
}
