//! Paths as people read them: under HOME they start with `~`. Presentation only: it must not
//! touch the file system or decide where anything is kept.

use std::path::Path;

/// A path for people: under HOME it starts with `~`.
pub fn display_path(path: &Path) -> String {
    if let Some(home) = dirs::home_dir()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
