//! Credentials as text for shells, files and tools that run `credential_process`: the
//! formats of `vault export` (and `exec --json`), quoted so that any value stands whole in
//! its shell. Pure: it renders, and printing is the caller's. It must not name
//! `commands/` or `cli.rs`, the rooms above it (the warm path renders through it too).

use std::fmt::Write as _;

use secrecy::ExposeSecret;
use serde::Serialize;

use crate::exec::rfc3339;
use crate::store::Credentials;

/// How `export` writes credentials (`--format`). clap reads the names (`cli.rs`); the warm
/// path reads them the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// KEY=VALUE lines
    Env,
    /// export KEY=VALUE lines, for eval in sh, bash and zsh
    ExportEnv,
    /// the credential_process JSON
    Json,
    /// a credentials-file section
    Ini,
    /// set -gx lines for fish
    Fish,
    /// $env: lines for PowerShell
    Powershell,
}

/// `credential_process` output, as the AWS CLI and SDKs read it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessJson<'a> {
    version: u32,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

/// The variables to export, in aws-vault's order.
fn variables<'a>(
    credentials: &'a Credentials,
    region: Option<&'a str>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.expose_secret().to_string(),
        ),
    ];
    if let Some(token) = &credentials.session_token {
        vars.push(("AWS_SESSION_TOKEN", token.expose_secret().to_string()));
    }
    if let Some(expiration) = credentials.expiration {
        vars.push(("AWS_CREDENTIAL_EXPIRATION", rfc3339(expiration)));
    }
    if let Some(region) = region {
        vars.push(("AWS_REGION", region.to_string()));
        vars.push(("AWS_DEFAULT_REGION", region.to_string()));
    }
    vars
}

pub fn render(
    format: ExportFormat,
    profile: &str,
    credentials: &Credentials,
    region: Option<&str>,
) -> String {
    let mut out = String::new();
    match format {
        ExportFormat::Json => {
            let json = ProcessJson {
                version: 1,
                access_key_id: &credentials.access_key_id,
                secret_access_key: credentials.secret_access_key.expose_secret(),
                session_token: credentials
                    .session_token
                    .as_ref()
                    .map(|t| t.expose_secret()),
                expiration: credentials.expiration.map(rfc3339),
            };
            out = serde_json::to_string_pretty(&json).expect("credentials serialize");
            out.push('\n');
        }
        ExportFormat::Ini => {
            let _ = writeln!(out, "[{profile}]");
            for (key, value) in variables(credentials, region) {
                let key = match key {
                    "AWS_REGION" => "region",
                    "AWS_DEFAULT_REGION" => continue,
                    other => &other.to_ascii_lowercase(),
                };
                let _ = writeln!(out, "{key}={value}");
            }
        }
        ExportFormat::Env | ExportFormat::ExportEnv => {
            let prefix = if format == ExportFormat::ExportEnv {
                "export "
            } else {
                ""
            };
            for (key, value) in variables(credentials, region) {
                let _ = writeln!(out, "{prefix}{key}={}", sh_quote(&value));
            }
        }
        ExportFormat::Fish => {
            for (key, value) in variables(credentials, region) {
                let _ = writeln!(out, "set -gx {key} {};", fish_quote(&value));
            }
        }
        ExportFormat::Powershell => {
            for (key, value) in variables(credentials, region) {
                let _ = writeln!(out, "$env:{key} = {}", powershell_quote(&value));
            }
        }
    }
    out
}

/// A value as it may stand in `sh`: bare when it is plain, else single-quoted.
fn sh_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=-_.:@,%".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// A fish single-quoted string: there `\\` and `\'` are the only escapes, so both the
/// backslash and the quote are escaped (a bare trailing `\` would escape the closing quote).
fn fish_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// A PowerShell single-quoted string. PowerShell takes the typographic quotes U+2018–U+201B
/// as single quotes too, and a doubled quote of any of them as one literal character, so
/// every one of them is doubled; nothing else is special inside single quotes.
fn powershell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn session() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: SecretString::from("se/cr+et="),
            session_token: Some(SecretString::from("to'ken")),
            expiration: Some(1_893_456_000),
        }
    }

    #[test]
    fn formats() {
        let c = session();
        assert_eq!(
            render(ExportFormat::Env, "p", &c, Some("eu-west-1")),
            "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=se/cr+et=\nAWS_SESSION_TOKEN='to'\\''ken'\nAWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z\nAWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\n"
        );
        assert!(
            render(ExportFormat::ExportEnv, "p", &c, None)
                .starts_with("export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n")
        );
        assert_eq!(
            render(ExportFormat::Json, "p", &c, None),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIAEXAMPLE\",\n  \"SecretAccessKey\": \"se/cr+et=\",\n  \"SessionToken\": \"to'ken\",\n  \"Expiration\": \"2030-01-01T00:00:00Z\"\n}\n"
        );
        assert_eq!(
            render(ExportFormat::Ini, "p", &c, Some("eu-west-1")),
            "[p]\naws_access_key_id=ASIAEXAMPLE\naws_secret_access_key=se/cr+et=\naws_session_token=to'ken\naws_credential_expiration=2030-01-01T00:00:00Z\nregion=eu-west-1\n"
        );
        assert!(
            render(ExportFormat::Fish, "p", &c, None)
                .contains("set -gx AWS_SESSION_TOKEN 'to\\'ken';\n")
        );
        assert!(
            render(ExportFormat::Powershell, "p", &c, None)
                .contains("$env:AWS_SESSION_TOKEN = 'to''ken'\n")
        );
    }

    /// Values that break naive quoting: each shell's quote, its escape, expansions, newline.
    const HOSTILE: &[&str] = &[
        "tok\\'; echo INJECTED; #",
        "ends in a backslash\\",
        "\\\\'",
        "$(echo INJECTED)`echo INJECTED`$HOME\"'",
        "line one\nline two",
        "smart \u{2018}quotes\u{2019}; echo INJECTED; \u{201a}\u{201b}",
        "",
    ];

    /// What fish makes of a single-quoted word (fish's rules: `\\` and `\'` are the only
    /// escapes inside single quotes, and the word ends at the first unescaped `'`).
    fn fish_unquote(word: &str) -> Option<String> {
        let mut chars = word.strip_prefix('\'')?.chars();
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' => return chars.as_str().is_empty().then_some(value),
                '\\' => match chars.next()? {
                    e @ ('\\' | '\'') => value.push(e),
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                },
                c => value.push(c),
            }
        }
        None
    }

    /// What PowerShell makes of a single-quoted string: any of its five single-quote
    /// characters ends it, unless the next character is one of them too, which is then taken
    /// literally.
    fn powershell_unquote(word: &str) -> Option<String> {
        let quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}');
        let mut chars = word.chars().peekable();
        if !chars.next().is_some_and(quote) {
            return None;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            if quote(c) {
                match chars.peek() {
                    Some(&next) if quote(next) => {
                        value.push(next);
                        chars.next();
                    }
                    _ => return chars.next().is_none().then_some(value),
                }
            } else {
                value.push(c);
            }
        }
        None
    }

    #[test]
    fn fish_and_powershell_quote_every_value_whole() {
        for value in HOSTILE {
            let fish = fish_quote(value);
            assert_eq!(fish_unquote(&fish).as_deref(), Some(*value), "fish: {fish}");
            let powershell = powershell_quote(value);
            assert_eq!(
                powershell_unquote(&powershell).as_deref(),
                Some(*value),
                "powershell: {powershell}"
            );
        }
        // The review's reproduction: a token ending in `\` no longer closes the quote.
        assert_eq!(fish_quote("tok\\'; x"), "'tok\\\\\\'; x'");
        assert_eq!(powershell_quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
    }

    #[test]
    fn long_lived_keys_have_no_token_or_expiry() {
        let keys = Credentials::keys("AKIA".into(), SecretString::from("s"));
        assert_eq!(
            render(ExportFormat::Json, "p", &keys, None),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"AKIA\",\n  \"SecretAccessKey\": \"s\"\n}\n"
        );
    }
}
