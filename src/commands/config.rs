//! `vault config add-role` and `vault config sync`: role profiles written into the config,
//! one section appended, or a team's list kept in one managed block. The sections come from
//! `config::roles` (pure), the writing from `config::editor`.
//! Must not: change a byte outside what it adds (add-role) or outside its block (sync), or
//! write anything when a team list is refused or under `--dry-run`.

use std::io::Read;
use std::path::Path;

use crate::cli::{ConfigAddRoleArgs, ConfigCommand, ConfigSyncArgs};
use crate::config::editor::{self, Current};
use crate::config::resolve::{Overrides, Resolver};
use crate::config::roles::{self, Base, Mfa};
use crate::config::{Config, FileKind};
use crate::error::{Error, Result};

use super::{Context, display_path};

pub fn run(context: &Context, command: &ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::AddRole(args) => add_role(context, args),
        ConfigCommand::Sync(args) => sync(context, args),
    }
}

fn edit_error(current_path: &Path) -> impl FnOnce(editor::EditError) -> Error + '_ {
    move |error| error.into_error(current_path)
}

/// The config as it is now, read for an edit (refused before anything else if vault would
/// not write it back), and the profiles of both files.
fn read(config_path: &Path) -> Result<(Current, Config)> {
    let current = editor::read_for_edit(config_path).map_err(edit_error(config_path))?;
    let config = super::load_config()?;
    Ok((current, config))
}

/// The base profile: the one given or the one with stored keys, with its MFA device and
/// region as it resolves them.
fn base(context: &Context, config: &Config, given: Option<&str>) -> Result<Base> {
    let store = context.store()?;
    let listing = store.list()?;
    let keyed: Vec<String> = config
        .profiles
        .profiles()
        .iter()
        .map(|p| p.name.clone())
        .filter(|name| listing.has_keys(name))
        .chain(
            listing
                .keys()
                .filter(|k| config.profiles.get(k).is_none())
                .map(str::to_string),
        )
        .collect();
    let source = roles::source_profile(given, &keyed).map_err(Error::from)?;
    let stored = |name: &str| listing.has_keys(name);
    let resolver = Resolver::new(&config.profiles, &stored);
    if !resolver.exists(&source) && !listing.has_keys(&source) {
        // The resolver's own error, with its "did you mean".
        resolver.profile(&source, &Overrides::default())?;
    }
    let resolved = resolver.profile(&source, &Overrides::default()).ok();
    Ok(Base {
        mfa_serial: resolved
            .as_ref()
            .and_then(|p| p.mfa_serial())
            .map(str::to_string),
        region: resolved
            .as_ref()
            .and_then(|p| p.region())
            .map(str::to_string),
        profile: source,
    })
}

/// Where a profile of that name is already written, as `(file, line)`.
fn written_at(config: &Config, name: &str) -> Option<(String, usize)> {
    let profile = config.profiles.get(name)?;
    Some((
        display_path(config.path(profile.origin.file)),
        profile.origin.line,
    ))
}

fn add_role(context: &Context, args: &ConfigAddRoleArgs) -> Result<()> {
    let config_path = crate::config::config_path(super::var);
    let (current, config) = read(&config_path)?;
    let base = base(context, &config, args.source_profile.as_deref())?;
    let mfa = match (&args.mfa_serial, args.no_mfa) {
        (Some(serial), _) => Mfa::Given(serial.clone()),
        (None, true) => Mfa::None,
        (None, false) => Mfa::FromSource,
    };
    let role = roles::add_role(
        &args.name,
        &args.role_arn,
        &base,
        args.region.as_deref(),
        &mfa,
        |name| written_at(&config, name),
    )
    .map_err(Error::from)?;
    let keys: Vec<(&str, &str)> = role
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let text = editor::append_section(&current.text, &role.name, &keys)
        .map_err(edit_error(&config_path))?;
    editor::write_edited(&current, &text).map_err(edit_error(&config_path))?;
    super::print(&format!(
        "{}Added profile `{}` to `{}`\n",
        role.text(),
        role.name,
        display_path(&config_path)
    ))
}

/// The most a team list may be.
const MAX_TEAM_LIST: u64 = 1 << 20;

/// The team list's text and the name its block is known by: `stdin` for `-`, else the
/// file's absolute path (the same file from another folder is the same block).
fn team_text(file: &str) -> Result<(String, String, String)> {
    let (bytes, source, shown) = if file == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_TEAM_LIST + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                action: "read",
                path: "stdin".into(),
                source,
            })?;
        (bytes, "stdin".to_string(), "stdin".to_string())
    } else {
        let path = Path::new(file);
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        (bytes, absolute.display().to_string(), file.to_string())
    };
    let team = |line, problem: &str| {
        Error::from(roles::RoleError::Team {
            file: shown.clone(),
            line,
            problem: problem.to_string(),
        })
    };
    if bytes.len() as u64 > MAX_TEAM_LIST {
        return Err(team(1, "the list is larger than 1 MiB"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        team(line, "this line is not UTF-8 text")
    })?;
    Ok((text, source, shown))
}

fn sync(context: &Context, args: &ConfigSyncArgs) -> Result<()> {
    let (text, source, shown) = team_text(&args.file)?;
    // The whole list is read and checked before anything else: a refused list writes nothing.
    let list = roles::read_team(&text, &shown, &args.prefix).map_err(Error::from)?;
    let config_path = crate::config::config_path(super::var);
    let (current, config) = read(&config_path)?;
    let base = base(context, &config, args.source_profile.as_deref())?;
    let roles = roles::team_roles(&list.profiles, &base);
    let edit = edit_error(&config_path);
    let block = editor::find_block(&current.text, &source).map_err(edit)?;
    let old_body = editor::block_body(&current.text, &source).map_err(edit_error(&config_path))?;
    // A profile outside the block: written in the credentials file, or in a config section
    // whose header is not between the markers.
    let inside = |origin: crate::config::profiles::Origin| {
        origin.file == FileKind::Config
            && block.is_some_and(|b| origin.line > b.begin + 1 && origin.line <= b.end)
    };
    let outside = |name: &str| {
        let profile = config.profiles.get(name)?;
        (!inside(profile.origin)).then(|| written_at(&config, name))?
    };
    let plan = roles::plan_sync(&roles, &old_body, outside);
    for warning in &list.warnings {
        crate::text::warn(warning);
    }
    for (name, file, line) in &plan.skipped {
        crate::text::warn(format_args!(
            "`{name}` is already a profile outside the synced block (`{file}` line {line}): skipped"
        ));
    }
    if args.dry_run {
        let (begin, end) = editor::markers(&source);
        let body = if plan.body.is_empty() {
            String::new()
        } else {
            plan.body.clone()
        };
        return super::print(&format!("{begin}\n{body}{end}\n"));
    }
    let new = editor::replace_block(&current.text, &source, &plan.body)
        .map_err(edit_error(&config_path))?;
    if new != current.text {
        editor::write_edited(&current, &new).map_err(edit_error(&config_path))?;
    }
    let mut out = String::new();
    for (word, names) in [
        ("added", &plan.added),
        ("changed", &plan.changed),
        ("removed", &plan.removed),
    ] {
        for name in names {
            out.push_str(&format!("{word:<8} {name}\n"));
        }
    }
    out.push_str(&format!(
        "Synced {} profile{} from `{shown}` into `{}`: {} added, {} changed, {} removed, {} unchanged{}\n",
        roles.len() - plan.skipped.len(),
        if roles.len() - plan.skipped.len() == 1 { "" } else { "s" },
        display_path(&config_path),
        plan.added.len(),
        plan.changed.len(),
        plan.removed.len(),
        plan.unchanged.len(),
        if plan.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", plan.skipped.len())
        }
    ));
    super::print(&out)
}
