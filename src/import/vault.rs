//! `vault import vault --from BACKEND`: moves vault's own key entries from another of its
//! backends to the current one, like ByteNess's `migrate-backend`: copy, read back,
//! compare, report. It must not delete from the source without `--delete-source`, and then
//! only entries that read back equal from the target; sessions are not moved.

use super::{Found, Target};
use crate::cli::ImportVaultArgs;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::prompt::Terminal;
use crate::store::{self, Backend, EntryId};

pub fn run(context: &Context, args: &ImportVaultArgs) -> Result<()> {
    let settings = context.settings()?;
    let mut options = store::Options::from(&settings);
    options.backend = Some(Backend::parse(&args.from, "--from")?);
    let mut source = store::open(options, Box::new(Terminal))?;
    let mut target = context.store()?;
    if source.describe() == target.describe() {
        return Err(Error::BadValue {
            name: "--from",
            problem: format!(
                "{} is the current store; name another backend, or change the current one with `--backend`",
                source.describe()
            ),
        });
    }
    let listing = source.list()?;
    let mut found = Vec::new();
    for name in listing.keys() {
        if !args.profile.is_empty() && !args.profile.iter().any(|p| p == name) {
            continue;
        }
        let id = EntryId::Keys {
            profile: name.to_string(),
        };
        found.push(match source.get(&id) {
            Ok(Some(keys)) => Found::keys(name, keys),
            Ok(None) => Found::failed(name, "the entry went away while importing"),
            Err(e) => Found::failed(name, &e.to_string()),
        });
    }
    let shown = Target {
        dry_run: args.dry_run,
        overwrite: args.overwrite,
        profiles: &args.profile,
        source: source.describe(),
    };
    let done = super::import(target.as_mut(), found, &shown)?;
    if args.delete_source && !args.dry_run {
        let mut deleted = 0;
        let mut moved = done.imported.clone();
        for (name, want) in &done.skipped {
            let id = EntryId::Keys {
                profile: name.clone(),
            };
            if target
                .get(&id)?
                .is_some_and(|have| super::same(&have, want))
            {
                moved.push(name.clone());
            }
        }
        for name in &moved {
            let id = EntryId::Keys {
                profile: name.clone(),
            };
            if source.remove(&id)? {
                deleted += 1;
            }
        }
        crate::commands::print(&format!(
            "deleted {deleted} from {} (each read back equal from {})\n",
            source.describe(),
            target.describe()
        ))?;
    }
    done.result()
}
