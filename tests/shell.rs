//! The three ways in besides `exec`: `export` (and `credential_process` for the real aws CLI
//! and boto3), `alias` evaluated in real bash, zsh and fish, and `completion`.

mod support;

use support::{Run, World};

fn assumed(role: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/{role}/")
}

/// Runs `script` in `shell` (`args` before it) with the test HOME's environment.
fn shell(world: &World, shell: &str, args: &[&str], script: &str) -> Run {
    let mut command = world.home.child(shell, args);
    command.arg(script);
    Run::from(command.output().unwrap())
}

#[test]
fn export_formats() {
    let world = World::new();
    let env = world.run(&["export", "readonly"]);
    let lines: Vec<&str> = env.ok().lines().collect();
    let keys: Vec<&str> = lines.iter().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_REGION",
            "AWS_DEFAULT_REGION"
        ]
    );

    let json = world.run(&["export", "--format", "json", "readonly"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(value["Version"], 1);
    assert!(value["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(value["Expiration"].as_str().unwrap().ends_with('Z'));

    // export-env works in a real shell.
    let run = shell(
        &world,
        "bash",
        &["-c"],
        "eval \"$(vault export --format export-env readonly)\" && aws sts get-caller-identity --query Arn --output text",
    );
    assert!(run.ok().starts_with(&assumed("readonly")), "{run:?}");

    let bad = world.run(&["export", "--format", "yaml", "readonly"]);
    assert_eq!(bad.status, Some(2));
    assert!(
        bad.stderr
            .contains("[possible values: env, export-env, json, ini, fish, powershell]"),
        "{bad:?}"
    );
}

#[test]
fn export_is_refused_in_a_vault_subshell() {
    let mut world = World::new();
    world.home.env("AWS_VAULT", "readonly");
    let run = world.run(&["export", "readonly"]);
    assert!(
        run.fails()
            .starts_with("error: running in an existing vault subshell"),
        "{run:?}"
    );
}

#[test]
fn credential_process_for_the_aws_cli_and_boto3() {
    let world = World::new();
    let mut config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    config.push_str(
        "\n[profile cli]\ncredential_process = vault export --format json readonly\nregion = eu-west-1\n\
         \n[profile broken-cli]\ncredential_process = vault export --format json no-such-profile\nregion = eu-west-1\n",
    );
    // The base profile can point at itself: its vault keys win over the process.
    config = config.replace(
        "[profile gds-users]\n",
        "[profile gds-users]\ncredential_process = vault export --format json gds-users\n",
    );
    world.home.config(&config);

    world.moto.start_recording();
    let arn = |profile: &str| {
        let args = [
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
            "--profile",
            profile,
        ];
        Run::from(world.home.child("aws", &args).output().unwrap())
    };
    let first = arn("cli");
    assert!(first.ok().starts_with(&assumed("readonly")), "{first:?}");
    let second = arn("cli");
    assert!(second.ok().starts_with(&assumed("readonly")));
    assert_eq!(
        world.moto.credential_calls(),
        ["AssumeRole"],
        "the second run used the cache"
    );

    let base = arn("gds-users");
    assert_eq!(
        base.ok().trim(),
        "arn:aws:iam::123456789012:user/jane",
        "{base:?}"
    );

    let script = "import boto3; print(boto3.Session(profile_name='cli').client('sts').get_caller_identity()['Arn'])";
    let run = Run::from(
        world
            .home
            .child(&support::python(), &["-c", script])
            .output()
            .unwrap(),
    );
    assert!(run.ok().starts_with(&assumed("readonly")), "{run:?}");

    // A profile that cannot get credentials: non-zero, the reason on stderr, nothing on stdout.
    let direct = world.run(&["export", "--format", "json", "no-such-profile"]);
    assert_eq!(
        direct.fails(),
        "error: profile `no-such-profile` not found\nhint: `vault list --profiles` shows the profiles there are\n"
    );
    let broken = arn("broken-cli");
    assert_ne!(broken.status, Some(0));
    assert!(
        broken
            .stderr
            .contains("profile `no-such-profile` not found"),
        "{broken:?}"
    );
}

#[test]
fn mfa_prompt_under_credential_process_uses_the_terminal() {
    let world = World::new();
    let mut config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    config.push_str("\n[profile admin-cli]\ncredential_process = vault export --format json target-account\nregion = eu-west-1\n");
    world.home.config(&config);
    let aws = world.home.child(
        "aws",
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "admin-cli",
            "--output",
            "json",
        ],
    );
    let mut session = rexpect::session::spawn_command(aws, Some(30_000)).unwrap();
    session
        .exp_string(&format!("Enter MFA code for {}: ", world.serial))
        .unwrap();
    session.send_line(&world.code(0)).unwrap();
    let output = session.exp_eof().unwrap();
    assert!(
        output.contains(&format!("\"Arn\": \"{}", assumed("admin"))),
        "{output}"
    );
}

#[test]
fn aliases_work_in_real_shells() {
    let world = World::new();
    let mut config = std::fs::read_to_string(world.home.path().join(".aws/config")).unwrap();
    config.push_str("\n[profile odd/name]\nsource_profile = gds-users\n");
    world.home.config(&config);

    let bash = world.run(&["alias"]);
    let bash = bash.ok();
    assert!(
        bash.contains("alias aws-readonly='vault exec readonly --'\n"),
        "{bash}"
    );
    assert!(bash.contains("# skipped profile \"odd/name\""), "{bash}");

    let script = "eval \"$(vault alias)\"\naws-readonly sh -c 'echo $AWS_VAULT'";
    let run = shell(&world, "bash", &["-O", "expand_aliases", "-c"], script);
    assert_eq!(run.ok(), "readonly\n", "{run:?}");

    // zsh reads a whole -c script before running it; aliases apply to lines read later.
    let script =
        "eval \"$(vault alias --shell zsh)\"\neval \"aws-readonly sh -c 'echo \\$AWS_VAULT'\"";
    let run = shell(&world, "zsh", &["-c"], script);
    assert_eq!(run.ok(), "readonly\n", "{run:?}");

    let script = "vault alias --shell fish | source; and aws-readonly sh -c 'echo $AWS_VAULT'";
    let run = shell(&world, "fish", &["--no-config", "-c"], script);
    assert_eq!(run.ok(), "readonly\n", "{run:?}");

    let script = "eval \"$(vault alias --prefix av-)\"\nav-partner-ok sh -c 'echo $AWS_VAULT'";
    let run = shell(&world, "bash", &["-O", "expand_aliases", "-c"], script);
    assert_eq!(run.ok(), "partner-ok\n", "{run:?}");
}

#[test]
fn bash_completion_offers_profiles() {
    let world = World::new();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source <(vault completion bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_vault_profiles vault\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1
        );
        shell(&world, "bash", &["-c"], &script).ok().to_string()
    };
    assert_eq!(complete("vault exec tar"), "target-account\n");
    assert_eq!(
        complete("vault exec -d 1h par"),
        "partner-ok\npartner-missing\n"
    );
    assert_eq!(complete("vault show rea"), "readonly\n");
    // Subcommands still come from clap's script.
    assert!(complete("vault ex").contains("exec\n"));

    let zsh = world.run(&["completion", "zsh"]);
    assert!(
        zsh.ok()
            .contains(":profile -- The profile whose credentials to use:_vault_profiles")
    );
    let fish = world.run(&["completion", "fish"]);
    assert!(
        fish.ok()
            .contains("__fish_seen_subcommand_from exec export show add remove clear")
    );
    assert_eq!(world.run(&["completion", "tcsh"]).status, Some(2));
}

#[test]
fn every_command_has_help_with_an_example() {
    let world = World::new();
    for command in [
        "add",
        "remove",
        "list",
        "exec",
        "export",
        "clear",
        "alias",
        "completion",
        "show",
    ] {
        let help = world.run(&[command, "--help"]);
        let help = help.ok();
        assert!(
            help.contains(&format!("Usage: vault {command}")),
            "{command}: {help}"
        );
        assert!(
            help.contains("Examples:\n  vault")
                || help.contains("Examples:\n  eval")
                || help.contains("Examples:\n  source")
                || help.contains("Examples:\n  AWS_"),
            "{command}: {help}"
        );
    }
}
