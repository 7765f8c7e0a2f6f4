//! What the package installs besides the programs: the man pages (committed in `docs/man/`,
//! generated from the clap definitions, so `--help` and `man` cannot drift), and the build's
//! facts that `vault --version --verbose` prints. `scripts/package-test` installs the package
//! itself in a clean Debian root.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Home, Run};

const FULL: &str = env!("CARGO_BIN_EXE_vault-full");
const REGENERATE: &str = "VAULT_WRITE_MAN=1 cargo test --test package man_pages";

#[test]
fn man_pages_in_docs_are_what_the_code_generates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let pages = vault::commands::compat::man_pages();
    assert_eq!(
        pages,
        vault::commands::compat::man_pages(),
        "the same code made different pages"
    );
    if std::env::var_os("VAULT_WRITE_MAN").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, page) in &pages {
            std::fs::write(dir.join(name), page).unwrap();
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    committed.sort();
    let mut generated: Vec<String> = pages.iter().map(|(name, _)| name.clone()).collect();
    generated.sort();
    assert_eq!(
        committed, generated,
        "docs/man/ holds other pages than the code makes: regenerate them with `{REGENERATE}`"
    );
    for (name, page) in &pages {
        let on_disk = std::fs::read(dir.join(name)).unwrap();
        assert!(
            on_disk == *page,
            "docs/man/{name} differs from what the clap definitions make: regenerate the pages \
             with `{REGENERATE}`"
        );
    }
    // One page per command, nested ones too, and each names its own command.
    for name in [
        "vault.1",
        "vault-exec.1",
        "vault-export.1",
        "vault-sso-login.1",
        "vault-import-aws-vault.1",
    ] {
        assert!(generated.contains(&name.to_string()), "{generated:?}");
    }
    let exec = String::from_utf8(
        pages
            .iter()
            .find(|(n, _)| n == "vault-exec.1")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        exec.starts_with(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH vault-exec 1  \"vault "),
        "{exec}"
    );
    assert!(
        exec.contains("vault exec target\\-account \\-\\- terraform plan"),
        "{exec}"
    );
}

#[test]
fn help_man_prints_the_committed_vault_1() {
    let home = Home::new();
    let run = home.run(["--help-man"]);
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man/vault.1"))
            .unwrap();
    assert_eq!(run.ok(), committed);
}

fn full(args: &[&str]) -> Run {
    Run::from(Command::new(FULL).args(args).output().unwrap())
}

#[test]
fn version_verbose_prints_the_commit_date_linking_and_backends() {
    let home = Home::new();
    let version = format!("vault {}\n", env!("CARGO_PKG_VERSION"));
    // The one line, from both programs and every spelling.
    for args in [&["--version"][..], &["-V"], &["-v"]] {
        assert_eq!(home.run(args).ok(), version, "{args:?}");
        assert_eq!(full(args).ok(), version, "vault-full {args:?}");
    }
    let verbose = home.run(["--version", "--verbose"]);
    let text = verbose.ok().to_string();
    assert!(verbose.stderr.is_empty(), "{verbose:#?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], version.trim_end());
    // The commit built: the checkout's HEAD (cargo built this test after the last commit),
    // or "unknown" outside git.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".to_string(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        });
    assert_eq!(lines[1], format!("commit: {head}"));
    let date = lines[2].strip_prefix("built: ").expect(lines[2]);
    assert!(
        date.len() == 23 && date.ends_with(" UTC") && date.as_bytes()[4] == b'-',
        "{date}"
    );
    assert_eq!(
        lines[3],
        format!("linked: vault {}, vault-full dynamic", env!("VAULT_LINKED"))
    );
    assert_eq!(lines[4], "backends: file, secret-service, keyctl, pass");
    // The same facts from every spelling and from both programs.
    for args in [
        &["--verbose", "--version"][..],
        &["version"],
        &["version", "--verbose"],
        &["-v", "--verbose"],
    ] {
        assert_eq!(home.run(args).ok(), text, "{args:?}");
        assert_eq!(full(args).ok(), text, "vault-full {args:?}");
    }
    assert_eq!(full(&["--version", "--verbose"]).ok(), text);
    // `--verbose` is no option of anything else.
    let other = home.run(["list", "--verbose"]);
    assert_eq!(other.status, Some(2), "{other:#?}");
}

/// The package's changelog (`debian/changelog`, installed as changelog.Debian.gz) has an
/// entry for this version, and the package its copyright file naming both licenses.
#[test]
fn the_debian_changelog_and_copyright_match_the_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let changelog = std::fs::read_to_string(root.join("debian/changelog")).unwrap();
    let first = changelog.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("vault ({}) ", env!("CARGO_PKG_VERSION"))),
        "debian/changelog's first entry is not this version: add one for {}: {first}",
        env!("CARGO_PKG_VERSION")
    );
    let copyright = std::fs::read_to_string(root.join("debian/copyright")).unwrap();
    assert!(copyright.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    assert!(
        copyright.contains("\nLicense: MIT or Apache-2.0\n"),
        "{copyright}"
    );
    assert!(
        copyright.contains("\nLicense: MIT\n") && copyright.contains("\nLicense: Apache-2.0\n")
    );
    for file in ["LICENSE", "LICENSE-MIT", "LICENSE-APACHE"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            text.contains("the vault developers") || file == "LICENSE-APACHE",
            "{file}"
        );
    }
    assert_eq!(env!("CARGO_PKG_LICENSE"), "MIT OR Apache-2.0");
}
