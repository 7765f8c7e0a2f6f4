//! `vault clear [PROFILE]`: delete cached sessions (all, or one profile's). SSO sign-ins
//! (tokens, client registrations) stay: `vault sso logout` ends those.

use crate::cli::ClearArgs;
use crate::error::Result;
use crate::store;

pub fn run(context: &super::Context, args: &ClearArgs) -> Result<()> {
    let mut store = context.store()?;
    let profile = args.profile.as_deref();
    let cleared = store::remove_sessions(store.as_mut(), |key| {
        key.source != crate::sso::cache::SIGN_IN_SOURCE && profile.is_none_or(|p| key.profile == p)
    })?;
    super::print(&format!("Cleared {cleared} sessions.\n"))
}
