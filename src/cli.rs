//! Command-line definitions: raw input only. Meaning is given to it in `commands`.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "vault",
    version,
    about = "Keep AWS keys locked away; hand short-lived credentials to commands",
    long_about = "vault keeps long-lived AWS access keys in an OS keychain or an encrypted file, \
turns them into short-lived STS credentials (MFA, role chains) and hands those to commands \
through their environment. It reads the same ~/.aws/config as the AWS CLI and aws-vault.",
    after_help = "Examples:\n  vault add gds-users\n  vault list\n  vault show target-account\n\nRun `vault COMMAND --help` for a command's options."
)]
pub struct Cli {
    /// Store backend: file, keychain, wincred, secret-service or keyctl [env: AWS_VAULT_BACKEND]
    #[arg(long, global = true, value_name = "NAME")]
    pub backend: Option<String>,

    /// Print each step to stderr: files read, the plan, cache hits, STS calls (never a secret)
    #[arg(long, global = true)]
    pub debug: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a profile's long-lived access keys in the vault
    #[command(
        after_help = "Examples:\n  vault add gds-users\n  AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... vault add gds-users --env"
    )]
    Add(AddArgs),
    /// Delete a profile's keys from the vault, and the sessions made from them
    #[command(after_help = "Examples:\n  vault remove gds-users\n  vault remove gds-users -f")]
    Remove(RemoveArgs),
    /// List profiles, the vault entries they use and their cached sessions
    #[command(after_help = "Examples:\n  vault list\n  vault list --profiles")]
    List(ListArgs),
    /// Show a profile's resolved settings and its chain of credential sources
    #[command(
        after_help = "Examples:\n  vault show target-account\n  vault show target-account --json"
    )]
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The profile whose keys these are
    pub profile: String,

    /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking
    #[arg(long)]
    pub env: bool,

    /// Do not add a `[profile NAME]` section to the config file
    #[arg(long)]
    pub no_add_config: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The profile whose keys to delete
    pub profile: String,

    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ListArgs {
    /// Print only the profile names, one a line, in file order
    #[arg(long)]
    pub profiles: bool,

    /// Print only the names of the vault's key entries
    #[arg(long)]
    pub credentials: bool,

    /// Print only the cached sessions, as `<kind>:<time left>`
    #[arg(long)]
    pub sessions: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The profile to show
    pub profile: String,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}
