//! `vault completion SHELL`: clap's completion script, plus completion of profile names
//! (from `vault list --profiles`) where the shell's script allows it.

use clap_complete::Shell;

use crate::cli::{Cli, CompletionArgs};
use crate::error::Result;

/// Subcommands whose first positional argument is a profile.
const PROFILE_COMMANDS: &str = "exec export show add remove clear login rotate";

pub fn run(args: &CompletionArgs) -> Result<()> {
    script(args.shell)
}

/// The script for `shell` (also `--completion-script-bash` and `-zsh`, aws-vault's spelling).
pub fn script(shell: Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::full(), "vault", &mut script);
    let mut script = String::from_utf8(script).expect("completion scripts are UTF-8");
    match shell {
        Shell::Bash => script.push_str(&bash_profiles()),
        Shell::Fish => script.push_str(&fish_profiles()),
        Shell::Zsh => script = zsh_profiles(&script),
        _ => {}
    }
    super::print(&script)
}

/// Wraps clap's `_vault`: the first positional after a profile command completes names.
fn bash_profiles() -> String {
    format!(
        r#"
_vault_profiles() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" sub="" positional=0 skip=0 i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        if [[ $skip == 1 ]]; then skip=0; continue; fi
        case "$word" in
            --) positional=$((positional + 1)) ;;
            --backend|-d|--duration|-t|--mfa-token|--region|--format|--shell|--prefix|--path) skip=1 ;;
            -*) ;;
            *) if [[ -z "$sub" ]]; then sub="$word"; else positional=$((positional + 1)); fi ;;
        esac
    done
    case " {PROFILE_COMMANDS} " in
        *" $sub "*)
            if [[ $positional == 0 && "$cur" != -* ]]; then
                COMPREPLY=($(compgen -W "$(command vault list --profiles 2>/dev/null)" -- "$cur"))
                return 0
            fi ;;
    esac
    _vault "$@"
}}
complete -F _vault_profiles -o nosort -o bashdefault -o default vault
"#
    )
}

fn fish_profiles() -> String {
    format!(
        "complete -c vault -n '__fish_seen_subcommand_from {PROFILE_COMMANDS}' -f -a '(command vault list --profiles 2>/dev/null)'\n"
    )
}

/// clap's zsh script completes a `profile` argument as any word; make it the profile names.
fn zsh_profiles(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + 200);
    for line in script.lines() {
        if line.contains(":profile -- ") && line.trim_end().ends_with(":_default' \\") {
            out.push_str(&line.replacen(":_default' \\", ":_vault_profiles' \\", 1));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(
        "\n(( $+functions[_vault_profiles] )) ||\n_vault_profiles() {\n    local -a profiles\n    profiles=(${(f)\"$(command vault list --profiles 2>/dev/null)\"})\n    _describe 'profile' profiles\n}\n",
    );
    out
}
