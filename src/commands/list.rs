//! `vault list`: profiles, the vault entries their chains use, and cached sessions.

use crate::cli::ListArgs;
use crate::config::ProfileSet;
use crate::error::Result;

pub fn run(args: &ListArgs) -> Result<()> {
    let config = super::load_config()?;
    if args.profiles {
        return super::print(&profile_names(&config.profiles));
    }
    super::print(&profile_names(&config.profiles))
}

/// Profile names in file order, one a line; `default` only when it has settings.
fn profile_names(profiles: &ProfileSet) -> String {
    let mut out = String::new();
    for profile in profiles.profiles() {
        if profile.name == "default" && profile.is_empty() {
            continue;
        }
        out.push_str(&profile.name);
        out.push('\n');
    }
    out
}
