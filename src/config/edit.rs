//! Changing one profile of `~/.aws/config` for `vault add`, `vault import credentials-file`
//! and `vault signin`: a section appended, or one key set. Each is one edit through
//! `config::editor`, with its rules: every other byte stays as it was; a link, a read-only
//! or non-regular file is refused; the write is atomic, keeps the file's mode (0600 for a new
//! file, in a 0700 folder), and is refused when the file changed since it was read; vault's
//! own edits wait for each other (a lock on the config's folder). It must
//! not write any other way, nor name `commands/` or `cli.rs`, the rooms above it.

use std::path::Path;

use super::editor::{self, EditError};
use crate::error::{Error, Result};

/// Refuses now, before anything is asked or stored, a config vault could not edit.
pub fn check(path: &Path) -> Result<()> {
    editor::read_for_edit(path)
        .map(|_| ())
        .map_err(|e| e.into_error(path))
}

/// Appends `[profile NAME]` (`[default]` for `default`) to the config file.
pub fn append_section(path: &Path, profile: &str) -> Result<()> {
    change(path, |text| editor::append_section(text, profile, &[]))?;
    crate::debug!("added `[profile {profile}]` to `{}`", path.display());
    Ok(())
}

/// Sets `key = value` in `[profile NAME]` (`[default]` for `default`): the key's line
/// replaced where the profile has one, else a line added to its section, else the section
/// appended.
pub fn set_key(path: &Path, profile: &str, key: &str, value: &str) -> Result<()> {
    change(path, |text| {
        editor::set_keys(text, profile, &[(key, value)]).map(|(text, _)| text)
    })?;
    crate::debug!(
        "set `{key}` in `[profile {profile}]` of `{}`",
        path.display()
    );
    Ok(())
}

/// One edit at a time among vault's processes (twenty `vault add`s at once each add their
/// section): an exclusive lock on the config's folder, which stays the same inode across the
/// rename and leaves no lock file beside the config. Held until dropped.
fn lock_folder(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let io = |action| {
        move |source| Error::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("create"))?;
    let folder = std::fs::File::open(dir).map_err(io("open"))?;
    folder.lock().map_err(io("lock"))?;
    Ok(folder)
}

fn change(
    path: &Path,
    edit: impl FnOnce(&str) -> std::result::Result<String, EditError>,
) -> Result<()> {
    let _held = lock_folder(path)?;
    let current = editor::read_for_edit(path).map_err(|e| e.into_error(path))?;
    let text = edit(&current.text).map_err(|e| e.into_error(path))?;
    if text != current.text {
        editor::write_edited(&current, &text).map_err(|e| e.into_error(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ARN: &str = "arn:aws:iam::123456789012:user/jane";

    #[test]
    fn set_key_keeps_every_other_byte_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let text = "# mine\r\n[profile gds-users]\r\nregion = eu-west-1  ; a comment\r\n\r\n[profile target]\r\nsource_profile = gds-users\r\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        set_key(&path, "gds-users", "login_session", ARN).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!(
                "# mine\r\n[profile gds-users]\r\nregion = eu-west-1  ; a comment\r\nlogin_session = {ARN}\r\n\r\n[profile target]\r\nsource_profile = gds-users\r\n"
            )
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Again: nothing to change, nothing written.
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        set_key(&path, "gds-users", "login_session", ARN).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn a_missing_file_gets_the_section_0600_and_default_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws/config");
        append_section(&path, "default").unwrap();
        append_section(&path, "b").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[default]\n\n[profile b]\n"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
    }

    #[test]
    fn a_link_or_a_read_only_config_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-config");
        std::fs::write(&real, "[profile gds-users]\n").unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = set_key(&link, "gds-users", "login_session", ARN).unwrap_err();
        assert!(err.to_string().contains("it is a symbolic link"), "{err}");
        assert!(check(&link).is_err());
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "[profile gds-users]\n"
        );
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o400)).unwrap();
        let err = append_section(&real, "other").unwrap_err();
        assert!(err.to_string().contains("it is read-only"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "[profile gds-users]\n"
        );
    }
}
