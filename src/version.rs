//! What `vault --version` says: the version, and with `--verbose` (or `vault version`) the
//! build's facts, all fixed at build time (`build.rs`). Shared by both programs: the warm
//! path prints it too. Must not: ask the system anything, or import from the rooms above
//! it (commands, the clap definitions).

/// `vault --version` (`verbose` false: one line), or `--version --verbose` and `vault
/// version`: also the commit, the build date, how `vault` is linked and the store backends
/// built in. All of it fixed at build time (`build.rs`): the warm path prints it too, and
/// asks nothing of the system to do so.
pub fn version_text(verbose: bool) -> String {
    let mut text = format!("vault {}\n", env!("CARGO_PKG_VERSION"));
    if verbose {
        text.push_str(&format!(
            "commit: {}\nbuilt: {}\nlinked: vault {}, vault-full dynamic\nbackends: {}\n",
            env!("VAULT_GIT_COMMIT"),
            env!("VAULT_BUILD_DATE"),
            env!("VAULT_LINKED"),
            BACKENDS.join(", "),
        ));
    }
    text
}

/// The store backends this build has, as `--backend` names them.
pub const BACKENDS: &[&str] = if cfg!(target_os = "linux") {
    &["file", "secret-service", "keyctl", "pass"]
} else if cfg!(target_os = "macos") {
    &["file", "keychain", "pass"]
} else if cfg!(windows) {
    &["file", "wincred", "pass"]
} else {
    &["file", "pass"]
};

/// The version forms of a command line (the program name left out) that print the version:
/// `Some(verbose)`. `--verbose` is a word of these forms only, so that `--version` stays
/// clap's and kingpin's.
pub fn version_words(words: &[&str]) -> Option<bool> {
    match words {
        ["--version"] | ["-V"] | ["-v"] => Some(false),
        ["version"] | ["version", "--verbose"] => Some(true),
        [flag, "--verbose"] | ["--verbose", flag] if ["--version", "-V", "-v"].contains(flag) => {
            Some(true)
        }
        _ => None,
    }
}
