//! `vault clear [PROFILE]`: delete cached sessions (all, or one profile's, with the SSO
//! role session it shares with profiles naming the same account and role). SSO sign-ins
//! (tokens, client registrations) stay: `vault sso logout` ends those.

use crate::cli::ClearArgs;
use crate::error::Result;
use crate::store;

pub fn run(context: &super::Context, args: &ClearArgs) -> Result<()> {
    let mut store = context.store()?;
    let cleared = match args.profile.as_deref() {
        // A profile's SSO role session goes too, though other profiles may share it.
        Some(profile) => super::remove_profile_sessions(store.as_mut(), profile)?,
        None => store::remove_sessions(store.as_mut(), |key| {
            key.source != crate::sso::cache::SIGN_IN_SOURCE
        })?,
    };
    super::print(&format!("Cleared {cleared} sessions.\n"))
}
