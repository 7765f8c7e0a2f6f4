//! `vault remove PROFILE`: delete a profile's keys and the sessions made from them.

use crate::cli::RemoveArgs;
use crate::error::{Error, Result};
use crate::prompt::{Terminal, confirm};
use crate::store::{self, EntryId};

pub fn run(context: &super::Context, args: &RemoveArgs) -> Result<()> {
    let profile = args.profile.as_str();
    let mut store = context.store()?;
    if args.sessions_only {
        // aws-vault's legacy `remove -s`: the profile's cached sessions only, keys kept.
        let sessions = super::remove_profile_sessions(store.as_mut(), profile)?;
        return super::print(&format!("Deleted {sessions} sessions.\n"));
    }
    if !store.list()?.has_keys(profile) {
        return Err(Error::NoKeys {
            profile: profile.to_string(),
            store: store.describe(),
        });
    }
    if !args.force {
        let question = format!("Delete credentials for profile \"{profile}\"? (y|N) ");
        if !confirm(&mut Terminal, &question)? {
            return super::print("Nothing deleted.\n");
        }
    }
    store.remove(&EntryId::Keys {
        profile: profile.to_string(),
    })?;
    let sessions = store::remove_sessions(store.as_mut(), |key| key.source == profile)?;
    crate::debug!("removed {sessions} sessions made from the keys of `{profile}`");
    super::print("Deleted credentials.\n")
}
