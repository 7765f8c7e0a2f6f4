//! `vault list`: profiles, the vault entries their chains use, and cached sessions.
//! Never needs the passphrase: it reads only what the store keeps in the clear. The listing
//! itself is `crate::list`'s, which the warm path shares.

use crate::cli::ListArgs;
use crate::error::Result;
use crate::list::{View, show, show_profiles};

pub fn run(context: &super::Context, args: &ListArgs) -> Result<()> {
    let config = super::load_config()?;
    if args.profiles {
        return show_profiles(&config.profiles);
    }
    let listing = context.store()?.list()?;
    show(&config.profiles, &listing, view(args))
}

/// `--credentials` beats `--sessions`; neither is the table.
pub(crate) fn view(args: &ListArgs) -> View {
    if args.credentials {
        View::Credentials
    } else if args.sessions {
        View::Sessions
    } else {
        View::Table
    }
}
