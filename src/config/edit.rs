//! Writing `~/.aws/config`: the room that owns every change vault makes to the AWS config
//! file. Today that is appending a section (`vault add`, `import credentials-file`); every
//! existing byte stays as it was. It must not rewrite or reorder what is there, nor name
//! `commands/` or `cli.rs`, the rooms above it.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Appends `[profile NAME]` to the config file, leaving every existing byte as it was.
/// Whatever the umask, a folder it creates is 0700 and a file it creates 0600, as `aws
/// configure` makes them: anyone who can write the config can run code as its owner
/// (`credential_process`). An existing file keeps its mode.
pub fn append_section(path: &Path, profile: &str) -> Result<()> {
    let io = |action| {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let existing = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io("create the folder of"))?;
            }
            Vec::new()
        }
        Err(e) => return Err(io("read")(e)),
    };
    let mut text = String::new();
    if !existing.is_empty() {
        if !existing.ends_with(b"\n") {
            text.push('\n');
        }
        text.push('\n');
    }
    if profile == "default" {
        text.push_str("[default]\n");
    } else {
        text.push_str(&format!("[profile {profile}]\n"));
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io("open"))?;
    file.write_all(text.as_bytes()).map_err(io("write"))?;
    crate::debug!("added `[profile {profile}]` to `{}`", path.display());
    Ok(())
}

/// Sets `key = value` in `[profile NAME]` (`[default]` for `default`) of the config file:
/// the key's line replaced where the section has one, else a line added after the section's
/// last setting, else the section appended. Every other byte stays as it was. The file is
/// replaced atomically (a reader sees the old file or the new one) and keeps its mode; a
/// link to it is followed, so a config kept elsewhere stays there.
pub fn set_key(path: &Path, profile: &str, key: &str, value: &str) -> Result<()> {
    let io = |action| {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            append_section(path, profile)?;
            std::fs::read_to_string(path).map_err(io("read"))?
        }
        Err(e) => return Err(io("read")(e)),
    };
    let target = std::fs::canonicalize(path).map_err(io("read"))?;
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&target)
            .map_err(io("read"))?
            .permissions()
            .mode()
            & 0o7777
    };
    let new = with_key(&text, profile, key, value);
    crate::store::fs::write_atomic(&target, new.as_bytes())?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(io("set the mode of"))?;
    }
    crate::debug!(
        "set `{key}` in `[profile {profile}]` of `{}`",
        path.display()
    );
    Ok(())
}

/// Whether a section header names `profile` in the config file (`[profile NAME]`, and
/// `[default]` for `default`), as the parser reads headers.
fn names_profile(line: &str, profile: &str) -> bool {
    let Some(inner) = line.trim().strip_prefix('[') else {
        return false;
    };
    let Some(end) = inner.find(']') else {
        return false;
    };
    let header = inner[..end].trim();
    if profile == "default" && header == "default" {
        return true;
    }
    header
        .strip_prefix("profile")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .is_some_and(|rest| rest.trim() == profile)
}

/// `text` with `key = value` set in `profile`'s section (see [`set_key`]). Pure.
pub fn with_key(text: &str, profile: &str, key: &str, value: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_header = |l: &str| l.starts_with('[');
    let key_of = |l: &str| {
        (!l.starts_with([' ', '\t', '#', ';']) && !is_header(l))
            .then(|| {
                l.split_once('=')
                    .map(|(k, _)| k.trim().to_ascii_lowercase())
            })
            .flatten()
    };
    // Every section of this profile: (header index, end index exclusive).
    let mut sections = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if is_header(line) && names_profile(line, profile) {
            let end = (i + 1..lines.len())
                .find(|&j| is_header(lines[j]))
                .unwrap_or(lines.len());
            sections.push((i, end));
        }
    }
    let setting = format!("{key} = {value}");
    let ending = |l: &str| {
        if l.ends_with("\r\n") { "\r\n" } else { "\n" }
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    // The key's last line in these sections (the one the parser reads) is replaced.
    let existing = sections
        .iter()
        .flat_map(|&(start, end)| start + 1..end)
        .rfind(|&i| key_of(lines[i]).as_deref() == Some(key));
    if let Some(i) = existing {
        out[i] = format!("{setting}{}", ending(lines[i]));
        return out.concat();
    }
    if let Some(&(start, end)) = sections.last() {
        // After the last line that is neither blank nor a comment.
        let last = (start..end)
            .rev()
            .find(|&i| {
                let t = lines[i].trim();
                !t.is_empty() && !t.starts_with(['#', ';'])
            })
            .unwrap_or(start);
        let eol = ending(lines[last]);
        if !out[last].ends_with('\n') {
            out[last].push_str(eol);
        }
        out.insert(last + 1, format!("{setting}{eol}"));
        return out.concat();
    }
    let mut text = text.to_string();
    if !text.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
    }
    if profile == "default" {
        text.push_str("[default]\n");
    } else {
        text.push_str(&format!("[profile {profile}]\n"));
    }
    text.push_str(&setting);
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:user/jane";

    #[test]
    fn a_key_is_added_after_the_sections_last_setting_and_nothing_else_moves() {
        let text = "# mine\n[default]\nregion = us-east-1\n\n[profile gds-users]\nregion = eu-west-1  ; a comment\n  \n# about the next one\n[profile target-account]\nsource_profile = gds-users\n";
        let got = with_key(text, "gds-users", "login_session", ARN);
        assert_eq!(
            got,
            format!(
                "# mine\n[default]\nregion = us-east-1\n\n[profile gds-users]\nregion = eu-west-1  ; a comment\nlogin_session = {ARN}\n  \n# about the next one\n[profile target-account]\nsource_profile = gds-users\n"
            )
        );
        // Read back: the profile has it, the others are as they were.
        let sections = crate::config::parse::parse(&got).unwrap();
        let users = sections
            .iter()
            .find(|s| s.header == "profile gds-users")
            .unwrap();
        assert!(
            users
                .properties
                .iter()
                .any(|p| p.key == "login_session" && p.value == ARN)
        );
    }

    #[test]
    fn an_existing_key_is_replaced_in_place() {
        let text = "[profile  gds-users ]\r\nLogin_Session = arn:old\r\nregion = x\r\n";
        assert_eq!(
            with_key(text, "gds-users", "login_session", ARN),
            format!("[profile  gds-users ]\r\nlogin_session = {ARN}\r\nregion = x\r\n")
        );
    }

    #[test]
    fn a_missing_section_is_appended_and_default_is_default() {
        assert_eq!(
            with_key("[profile a]\nregion = x", "b", "login_session", ARN),
            format!("[profile a]\nregion = x\n\n[profile b]\nlogin_session = {ARN}\n")
        );
        assert_eq!(
            with_key("", "default", "login_session", ARN),
            format!("[default]\nlogin_session = {ARN}\n")
        );
        assert_eq!(
            with_key("[default]\n", "default", "login_session", ARN),
            format!("[default]\nlogin_session = {ARN}\n")
        );
        // `[profile default]` is not `[default]`'s header for this writer, nor is a
        // profile whose name only starts the same.
        assert_eq!(
            with_key("[profile gds-users-2]\n", "gds-users", "k", "v"),
            "[profile gds-users-2]\n\n[profile gds-users]\nk = v\n"
        );
    }

    #[test]
    fn set_key_keeps_the_mode_and_follows_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-config");
        std::fs::write(&real, "[profile gds-users]\nregion = eu-west-1\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        set_key(&link, "gds-users", "login_session", ARN).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            format!("[profile gds-users]\nregion = eu-west-1\nlogin_session = {ARN}\n")
        );
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
