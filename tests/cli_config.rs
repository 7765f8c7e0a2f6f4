//! The config model through the real binary: `list --profiles`, `show`, and bad input.

mod support;

use support::Home;

const DAY: &str = "\
[profile gds-users]
region = eu-west-1

[profile target-account]
source_profile = gds-users
region = eu-west-1
role_arn = arn:aws:iam::123456789012:role/admin
mfa_serial = arn:aws:iam::111111111111:mfa/jane
";

#[test]
fn list_profiles_in_file_order() {
    let home = Home::new();
    home.config("[default]\n[profile zeta]\n[profile alpha]\nregion = x\n[sso-session s]\n");
    home.credentials("[beta]\n[zeta]\n");
    assert_eq!(home.run(["list", "--profiles"]).ok(), "zeta\nalpha\nbeta\n");

    // `[default]` is listed once it has settings.
    home.config("[default]\nregion = eu-west-1\n[profile zeta]\n");
    assert_eq!(
        home.run(["list", "--profiles"]).ok(),
        "default\nzeta\nbeta\n"
    );
}

#[test]
fn missing_config_is_empty() {
    let home = Home::new();
    assert_eq!(home.run(["list", "--profiles"]).ok(), "");
}

#[test]
fn config_location_from_environment() {
    let mut home = Home::new();
    home.write("elsewhere/conf", "[profile there]\n");
    home.write("elsewhere/creds", "[creds-only]\n");
    home.env("AWS_CONFIG_FILE", "~/elsewhere/conf");
    home.env(
        "AWS_SHARED_CREDENTIALS_FILE",
        home.path().join("elsewhere/creds").to_str().unwrap(),
    );
    assert_eq!(home.run(["list", "--profiles"]).ok(), "there\ncreds-only\n");
}

#[test]
fn parse_error_names_file_line_and_problem() {
    let home = Home::new();
    home.config("[profile ok]\nregion = x\n\n[profile broken\n");
    let stderr = home.run(["list", "--profiles"]).fails().to_string();
    let path = home.path().join(".aws/config");
    assert_eq!(
        stderr,
        format!(
            "error: `{}` line 4: Profile definition must end with ']'\n",
            path.display()
        )
    );

    home.config("[profile ok]\nregion eu-west-1\n");
    let stderr = home.run(["show", "ok"]).fails().to_string();
    assert!(
        stderr.contains("line 2: Expected an '=' sign defining a property"),
        "{stderr}"
    );

    home.config("[profile ok]\n");
    std::fs::write(home.path().join(".aws/credentials"), b"[ok]\nx = \xff\n").unwrap();
    let stderr = home.run(["list", "--profiles"]).fails().to_string();
    assert!(
        stderr.contains("credentials` line 2: the file is not valid UTF-8 text"),
        "{stderr}"
    );
}

#[test]
fn show_prints_settings_and_chain() {
    let home = Home::new();
    home.config(DAY);
    home.credentials("[gds-users]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    let run = home.run(["show", "target-account"]);
    assert_eq!(
        run.ok(),
        "\
Profile: target-account
Settings:
  mfa_serial      arn:aws:iam::111111111111:mfa/jane    ~/.aws/config:8
  region          eu-west-1                             ~/.aws/config:6
  role_arn        arn:aws:iam::123456789012:role/admin  ~/.aws/config:7
  source_profile  gds-users                             ~/.aws/config:5
Chain:
  1. gds-users: long-lived keys ****************MPLE written in a plaintext file
  2. target-account: AssumeRole arn:aws:iam::123456789012:role/admin (MFA arn:aws:iam::111111111111:mfa/jane)
Plan (what `vault exec` would do now):
  1. gds-users: sts.GetSessionToken for 28800s: calls STS, needs an MFA code for arn:aws:iam::111111111111:mfa/jane
  2. target-account: sts.AssumeRole arn:aws:iam::123456789012:role/admin for 3600s: calls STS
"
    );
    assert_eq!(
        run.stderr,
        "warning: profile `gds-users` keeps long-lived keys in plaintext in `~/.aws/credentials`\n\
         hint: move them into the vault with `vault import credentials-file --profile gds-users`\n"
    );

    let json = home.run(["show", "gds-users", "--json"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(value["chain"]["base"]["kind"], "plaintext_keys");
    assert_eq!(
        value["profile"]["settings"]["aws_secret_access_key"]["value"],
        "<hidden>"
    );
    assert!(!json.stdout.contains("EXAMPLEKEY") && !json.stderr.contains("EXAMPLEKEY"));
}

#[test]
fn settings_from_include_default_and_environment() {
    let mut home = Home::new();
    home.config(
        "[default]\nregion = eu-west-2\nmfa_serial = arn:aws:iam::1:mfa/d\nrole_arn = arn:not-inherited\n\
         [profile base]\nduration_seconds = 900\n[profile p]\ninclude_profile = base\ncredential_process = true\n",
    );
    let json = home.run(["show", "p", "--json"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    let settings = &value["profile"]["settings"];
    assert_eq!(settings["region"]["value"], "eu-west-2");
    assert_eq!(settings["region"]["from"]["profile"], "default");
    assert_eq!(settings["duration_seconds"]["from"]["profile"], "base");
    assert_eq!(settings["mfa_serial"]["value"], "arn:aws:iam::1:mfa/d");
    assert!(
        settings.get("role_arn").is_none(),
        "role_arn never comes from [default]"
    );

    home.env("AWS_REGION", "ap-south-1");
    let json = home.run(["show", "p", "--json"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(
        value["profile"]["settings"]["region"]["value"],
        "ap-south-1"
    );
    assert_eq!(
        value["profile"]["settings"]["region"]["from"]["variable"],
        "AWS_REGION"
    );
}

#[test]
fn unknown_profile_suggests_the_closest() {
    let home = Home::new();
    home.config(DAY);
    assert_eq!(
        home.run(["show", "target-acount"]).fails(),
        "error: profile `target-acount` not found\nhint: did you mean `target-account`?\n"
    );
    // Never a silent fallback to [default].
    home.config("[default]\nregion = x\n");
    let stderr = home.run(["show", "nothing-like-it"]).fails().to_string();
    assert!(
        stderr.starts_with("error: profile `nothing-like-it` not found\n"),
        "{stderr}"
    );
}

#[test]
fn loops_are_named() {
    let home = Home::new();
    home.config(
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n",
    );
    assert_eq!(
        home.run(["show", "a"]).fails(),
        "error: profile formed an infinite loop through `source_profile`: `a` -> `b` -> `a`\n\
         hint: change one `source_profile` so that the chain ends\n"
    );
    home.config("[profile a]\ninclude_profile = a\n");
    let stderr = home.run(["show", "a"]).fails().to_string();
    assert!(
        stderr.starts_with(
            "error: profile formed an infinite loop through `include_profile`: `a` -> `a`"
        ),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let home = Home::new();
    let run = home.run(["no-such-command"]);
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("unrecognized subcommand"), "{run:?}");
    assert_eq!(home.run(["show"]).status, Some(2));
    let help = home.run(["show", "--help"]);
    assert!(
        help.ok().contains("Usage: vault show [OPTIONS] <PROFILE>"),
        "{help:?}"
    );
    assert!(home.run(["--version"]).ok().starts_with("vault "));
}
