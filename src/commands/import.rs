//! `vault import`: the command-line side. It turns the arguments into what `crate::import`
//! takes (the store, a prompt, the names wanted), prints what comes back, and picks the exit
//! status: 1 when anything was not imported. Reading and writing the sources is
//! `crate::import`'s.

use crate::cli::{
    ImportArgs, ImportAwsVaultArgs, ImportCredentialsFileArgs, ImportSource, ImportVaultArgs,
};
use crate::error::{Error, Result};
use crate::import::{self, Done, Target, credentials_file};
use crate::prompt::Terminal;
use crate::store::{self, Backend};

use super::{Context, display_path, print};

pub fn run(context: &Context, args: &ImportArgs) -> Result<u8> {
    match &args.source {
        ImportSource::AwsVault(args) => aws_vault(context, args),
        ImportSource::CredentialsFile(args) => credentials_file(context, args),
        ImportSource::Vault(args) => vault(context, args),
    }
    .map(|()| 0)
}

/// Exit 1 when anything was not imported: the report has said why.
fn finish(done: &Done) -> Result<()> {
    if done.failed > 0 {
        return Err(Error::ImportIncomplete {
            failed: done.failed,
        });
    }
    Ok(())
}

fn aws_vault(context: &Context, args: &ImportAwsVaultArgs) -> Result<()> {
    // Under `import aws-vault`, `--pass-prefix` is aws-vault's folder.
    let pass_prefix = context.pass_prefix.clone().unwrap_or_default();
    let wanted = import::AwsVault {
        from: args.from.as_deref(),
        dir: args.dir.clone(),
        profiles: &args.profile,
        pass_prefix: &pass_prefix,
    };
    let (source, found) = import::read_aws_vault(&wanted, &mut Terminal)?;
    let target = Target {
        dry_run: args.dry_run,
        overwrite: args.overwrite,
        profiles: &args.profile,
        source,
    };
    // `--pass-prefix` named aws-vault's folder, not vault's own.
    let mut own = context.clone();
    own.pass_prefix = None;
    let mut store = own.store()?;
    let done = import::import(store.as_mut(), found, &target)?;
    print(&done.report)?;
    finish(&done)
}

fn credentials_file(context: &Context, args: &ImportCredentialsFileArgs) -> Result<()> {
    let config = super::load_config()?;
    let path = config.credentials_path.clone();
    let rewrite = !args.keep && !args.dry_run;
    credentials_file::check(&path, rewrite)?;
    let mut source = credentials_file::read(&path)?;
    let unlisted = |found: &import::Found| {
        config
            .profiles
            .get(&found.name)
            .is_none_or(|p| p.origin.file != crate::config::FileKind::Config)
    };
    if rewrite && source.found.iter().any(unlisted) {
        // A moved profile gets a section in the config: one vault will not edit is refused
        // before anything is imported.
        crate::config::edit::check(&config.config_path)?;
    }
    let mut store = context.store()?;
    if rewrite && source.has_keys() {
        // The passphrase may take the person a while: the text to rewrite is read after it,
        // so that what another program writes meanwhile is in it.
        store.unlock()?;
        source = credentials_file::read(&path)?;
    }
    let target = Target {
        dry_run: args.dry_run,
        overwrite: args.overwrite,
        profiles: &args.profile,
        source: format!("`{}`", display_path(&path)),
    };
    let found = std::mem::take(&mut source.found);
    let done = import::import(store.as_mut(), found, &target)?;
    print(&done.report)?;
    if rewrite
        && let Some(rewritten) = credentials_file::rewrite(store.as_mut(), &config, &source, &done)?
    {
        print(&format!(
            "removed the keys of {} from `{}`; the file as it was is in `{}` (0600)\n\
             that backup still holds the keys in plaintext: once vault works for these profiles, delete it with `rm {}`\n",
            rewritten.moved,
            display_path(&path),
            display_path(&rewritten.backup),
            shell_word(&rewritten.backup)
        ))?;
    }
    finish(&done)
}

/// A path as one word to paste into a shell: `~/…` when that needs no quoting, else the
/// whole path single-quoted.
fn shell_word(path: &std::path::Path) -> String {
    let shown = display_path(path);
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,~".contains(c);
    if shown.chars().all(plain) && !shown.starts_with('-') {
        return shown;
    }
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

fn vault(context: &Context, args: &ImportVaultArgs) -> Result<()> {
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
    let found = import::vault::read(source.as_mut(), &args.profile)?;
    let shown = Target {
        dry_run: args.dry_run,
        overwrite: args.overwrite,
        profiles: &args.profile,
        source: source.describe(),
    };
    let done = import::import(target.as_mut(), found, &shown)?;
    print(&done.report)?;
    if args.delete_source && !args.dry_run {
        let deleted = import::vault::delete_moved(source.as_mut(), target.as_mut(), &done)?;
        print(&format!(
            "deleted {deleted} from {} (each read back equal from {})\n",
            source.describe(),
            target.describe()
        ))?;
    }
    finish(&done)
}
