//! The house has no arrow running back up: only `src/lib.rs`, `src/cli.rs` and the files
//! under `src/commands/` may name `crate::commands` or `crate::cli` (ARCHITECTURE.md, code
//! map). Everything below them (the warm path, import's sources, the prompt drivers, the
//! error wording) takes what it needs as parameters or from a room below.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `line` names the CLI rooms: `crate::commands`, `crate::cli`, or either inside a
/// `crate::{...}` group.
fn names_the_cli(line: &str) -> bool {
    if line.contains("crate::commands") || line.contains("crate::cli") {
        return true;
    }
    line.split("crate::{").skip(1).any(|group| {
        let group = group.split('}').next().unwrap_or("");
        group
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|word| word == "commands" || word == "cli")
    })
}

#[test]
fn only_lib_cli_and_commands_name_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "src/ not found: {files:?}");
    let allowed = |path: &Path| {
        let relative = path.strip_prefix(root).unwrap();
        relative == Path::new("src/lib.rs")
            || relative == Path::new("src/cli.rs")
            || relative.starts_with("src/commands")
    };
    let mut found = Vec::new();
    for path in files.iter().filter(|p| !allowed(p)) {
        let text = std::fs::read_to_string(path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if names_the_cli(line) {
                found.push(format!(
                    "{}:{}: {}",
                    path.strip_prefix(root).unwrap().display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "these lower rooms name `crate::commands` or `crate::cli`; move what they need below \
         `commands/` (ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_every_form() {
    for line in [
        "use crate::commands::{self, var};",
        "    match crate::commands::var(NAME) {",
        "use crate::cli::ImportVaultArgs;",
        "use crate::{cli, config};",
        "use crate::{config, commands::print};",
    ] {
        assert!(names_the_cli(line), "{line}");
    }
    for line in [
        "use crate::config::edit;",
        "use crate::{client, commandsx};",
        "// the CLI side",
    ] {
        assert!(!names_the_cli(line), "{line}");
    }
}
