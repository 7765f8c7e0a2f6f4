//! aws-vault's (kingpin's) global actions: `--completion-script-bash`/`-zsh`, the
//! `--completion-bash` query, `--help-long`, `--help-man`, `-v` and the `version` command.
//! Each prints and returns; none reads the config, the store or the network, except the
//! completion query, which lists profile names from the config as `vault list --profiles`.

use crate::cli::Cli;
use crate::error::Result;

/// The action a global compat flag asks for, when one does.
pub fn run(cli: &Cli) -> Option<Result<()>> {
    let compat = &cli.compat;
    if compat.completion_script_bash {
        return Some(super::completion::script(clap_complete::Shell::Bash));
    }
    if compat.completion_script_zsh {
        return Some(super::completion::script(clap_complete::Shell::Zsh));
    }
    if let Some(words) = &compat.completion_bash {
        return Some(super::print(&completion_query(words)));
    }
    if compat.help_man {
        return Some(man());
    }
    if compat.help_long {
        return Some(help_long());
    }
    if compat.version_short {
        return Some(version());
    }
    None
}

pub fn version() -> Result<()> {
    super::print(&format!("vault {}\n", env!("CARGO_PKG_VERSION")))
}

/// kingpin's `--completion-bash WORDS...`: the candidates for the next word, one a line.
/// After a command that takes a profile, and before its profile, the profile names.
fn completion_query(words: &[String]) -> String {
    let root = Cli::full();
    let mut out = String::new();
    let typed: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    let Some(sub) = typed
        .iter()
        .find_map(|w| root.find_subcommand(w).filter(|_| !w.starts_with('-')))
    else {
        for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
            out.push_str(sub.get_name());
            out.push('\n');
        }
        for flag in root.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = flag.get_long() {
                out.push_str(&format!("--{long}\n"));
            }
        }
        return out;
    };
    let after: Vec<&&str> = typed
        .iter()
        .skip_while(|w| !sub.get_name_and_visible_aliases().contains(w))
        .skip(1)
        .filter(|w| !w.starts_with('-'))
        .collect();
    let takes_profile = sub.get_positionals().any(|a| a.get_id() == "profile");
    if takes_profile
        && after.is_empty()
        && let Ok(config) = super::load_config()
    {
        for name in super::listed_profiles(&config.profiles) {
            out.push_str(name);
            out.push('\n');
        }
    }
    for flag in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(long) = flag.get_long() {
            out.push_str(&format!("--{long}\n"));
        }
    }
    out
}

/// kingpin's `--help-long`: the overview, then every command's own help.
fn help_long() -> Result<()> {
    let mut root = Cli::full();
    let mut out = root.render_long_help().to_string();
    for sub in root.get_subcommands_mut().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        let mut sub = sub.clone().bin_name(format!("vault {name}"));
        out.push_str(&format!("\n\nvault {name}\n\n"));
        out.push_str(&sub.render_long_help().to_string());
    }
    super::print(&out)
}

/// kingpin's `--help-man`: a man page (roff) from the same definitions as `--help`.
fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::full())
        .render(&mut page)
        .map_err(crate::error::Error::Output)?;
    super::print(&String::from_utf8_lossy(&page))
}
