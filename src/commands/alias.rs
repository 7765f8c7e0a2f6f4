//! `vault alias`: one shell alias per profile, `aws-PROFILE` running `vault exec PROFILE --`.

use std::fmt::Write as _;

use crate::cli::{AliasArgs, AliasShell};
use crate::error::Result;

pub fn run(args: &AliasArgs) -> Result<()> {
    let config = super::load_config()?;
    let names: Vec<&str> = super::listed_profiles(&config.profiles).collect();
    super::print(&render(args.shell, &args.prefix, &names))
}

/// Whether a shell accepts `name` as an alias (or, for fish and PowerShell, function) name.
fn valid_name(shell: AliasShell, name: &str) -> bool {
    let forbidden: &[char] = match shell {
        // bash: no `/`, `$`, backquote, `=`, metacharacters or quotes; zsh alike.
        AliasShell::Bash | AliasShell::Zsh => &['/', '$', '`', '=', '\'', '"', '\\', '%'],
        AliasShell::Fish => &['/', '$', '\'', '"', '\\'],
        AliasShell::Powershell => &['/', '$', '\'', '"', '\\', '@', ':', '%', '+'],
    };
    !name.is_empty() && !name.contains(forbidden) && !name.starts_with('-')
}

pub fn render(shell: AliasShell, prefix: &str, profiles: &[&str]) -> String {
    let mut out = String::new();
    for profile in profiles {
        let name = format!("{prefix}{profile}");
        if !valid_name(shell, &name) {
            let _ = writeln!(
                out,
                "# skipped profile {profile:?}: `{name}` is not a valid name in {shell:?}"
            );
            continue;
        }
        let _ = match shell {
            AliasShell::Bash | AliasShell::Zsh => {
                writeln!(out, "alias {name}='vault exec {profile} --'")
            }
            AliasShell::Fish => {
                writeln!(out, "function {name}; vault exec '{profile}' -- $argv; end")
            }
            AliasShell::Powershell => {
                writeln!(out, "function {name} {{ vault exec '{profile}' -- @args }}")
            }
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        let profiles = ["target-account", "a/b", "team@x"];
        assert_eq!(
            render(AliasShell::Bash, "aws-", &profiles),
            "alias aws-target-account='vault exec target-account --'\n\
             # skipped profile \"a/b\": `aws-a/b` is not a valid name in Bash\n\
             alias aws-team@x='vault exec team@x --'\n"
        );
        assert!(render(AliasShell::Fish, "aws-", &profiles).starts_with(
            "function aws-target-account; vault exec 'target-account' -- $argv; end\n"
        ));
        assert!(
            render(AliasShell::Powershell, "aws-", &profiles).starts_with(
                "function aws-target-account { vault exec 'target-account' -- @args }\n"
            )
        );
    }
}
