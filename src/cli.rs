//! Command-line definitions: raw input only. Meaning is given to it in `commands`.

use clap::{Args, Parser, Subcommand};

pub use crate::export::ExportFormat;

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
    /// Store backend: file, keychain, wincred, secret-service, keyctl or pass [env: AWS_VAULT_BACKEND]
    #[arg(long, global = true, value_name = "NAME")]
    pub backend: Option<String>,

    /// Who asks for MFA codes and passphrases: terminal, zenity, kdialog, osascript, ykman or
    /// (Windows) wincredui (default: the terminal, else a GUI dialog when there is no terminal)
    #[arg(long, global = true, value_name = "DRIVER", env = "AWS_VAULT_PROMPT", hide_env_values = true, value_parser = crate::prompt::Named::parse)]
    pub prompt: Option<crate::prompt::Named>,

    /// Print each step to stderr: files read, the plan, cache hits, STS calls (never a secret)
    #[arg(long, global = true)]
    pub debug: bool,

    #[command(flatten)]
    pub compat: GlobalCompat,
    /// pass backend: the password store [env: AWS_VAULT_PASS_PASSWORD_STORE_DIR, else
    /// PASSWORD_STORE_DIR, else ~/.password-store]
    #[arg(long, global = true, value_name = "DIR")]
    pub pass_dir: Option<std::path::PathBuf>,

    /// pass backend: the command, e.g. gopass [env: AWS_VAULT_PASS_CMD] [default: pass]
    #[arg(long, global = true, value_name = "CMD")]
    pub pass_cmd: Option<String>,

    /// pass backend: the folder in the store [env: AWS_VAULT_PASS_PREFIX] [default: vault];
    /// under `import aws-vault`, aws-vault's folder instead
    #[arg(long, global = true, value_name = "PREFIX")]
    pub pass_prefix: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The whole command tree, every subcommand's arguments built, for code that walks it.
    pub fn full() -> clap::Command {
        let mut command = <Cli as clap::CommandFactory>::command();
        command.build();
        command
    }
}

/// aws-vault's global flags and kingpin's built-ins, with aws-vault's meaning.
#[derive(Debug, Args)]
pub struct GlobalCompat {
    /// The file store's folder [env: AWS_VAULT_FILE_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub file_dir: Option<String>,

    /// macOS keychain name (aws-vault's `aws-vault.keychain`); vault uses the login keychain,
    /// so this is accepted and has no effect
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "AWS_VAULT_KEYCHAIN_NAME",
        hide_env_values = true
    )]
    pub keychain: Option<String>,

    /// secret-service collection to create entries in (default: the default collection)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME",
        hide_env_values = true
    )]
    pub secret_service_collection: Option<String>,

    /// ByteNess's macOS Touch ID unlock: accepted, no effect (vault has no such unlock)
    #[arg(long, global = true, hide = true, env = "AWS_VAULT_BIOMETRICS", value_parser = clap::builder::BoolishValueParser::new())]
    pub biometrics: bool,

    /// Print the bash completion script (as `vault completion bash`)
    #[arg(long, hide = true)]
    pub completion_script_bash: bool,

    /// Print the zsh completion script (as `vault completion zsh`)
    #[arg(long, hide = true)]
    pub completion_script_zsh: bool,

    /// kingpin's completion query: the words typed so far, answered one candidate a line
    #[arg(long, hide = true, num_args = 0.., allow_hyphen_values = true, value_name = "WORDS")]
    pub completion_bash: Option<Vec<String>>,

    /// Help for every command at once
    #[arg(long)]
    pub help_long: bool,

    /// A man page (roff) on stdout
    #[arg(long)]
    pub help_man: bool,

    /// -v: the version, as ByteNess's aws-vault
    #[arg(short = 'v', hide = true)]
    pub version_short: bool,
}

// Each subcommand's arguments are built only when it is the one used: the warm path
// (`exec`, `export`) does not pay for the rest of the tree (docs/performance.md). Code that
// looks at the whole tree (completion, `--help-long`, the man page) takes `Cli::full()`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Store a profile's long-lived access keys in the vault
    #[command(
        after_help = "Examples:\n  vault add gds-users\n  AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... vault add gds-users --env"
    )]
    Add(AddArgs),
    /// Delete a profile's keys from the vault, and the sessions made from them
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  vault remove gds-users\n  vault remove gds-users -f"
    )]
    Remove(RemoveArgs),
    /// Replace a profile's stored access key with a new one, then delete the old one
    #[command(
        after_help = "Examples:\n  vault rotate gds-users\n  vault rotate -t 123456 gds-users\n  vault rotate -n gds-users        # call IAM with the long-lived keys\n\nIAM refuses sessions made without MFA: without -n, a profile with `mfa_serial` calls IAM\nthrough an MFA session, one without calls it with its keys. The new key is checked with\nSTS before it is stored; if anything fails before then, it is deleted and the old key stays."
    )]
    Rotate(RotateArgs),
    /// Run a command with a profile's short-lived credentials in its environment
    #[command(
        after_help = "Examples:\n  vault exec target-account -- aws sts get-caller-identity\n  vault exec target-account -- terraform plan\n  vault exec -d 4h target-account          # a shell with 4-hour credentials\n\nThe command gets AWS_VAULT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,\nAWS_CREDENTIAL_EXPIRATION and, when known, AWS_REGION and AWS_DEFAULT_REGION. A cached\nsession is used until AWS_MIN_TTL (5m) before it expires."
    )]
    Exec(ExecArgs),
    /// Print a profile's short-lived credentials (for shells, files and credential_process)
    #[command(
        after_help = "Examples:\n  eval \"$(vault export --format export-env target-account)\"\n  vault export --format json gds-users\n\nIn ~/.aws/config, for tools that read credentials themselves:\n  [profile gds-users-cli]\n  credential_process = vault export --format json gds-users"
    )]
    Export(ExportArgs),
    /// Open the AWS console signed in with a profile's credentials (or print the sign-in URL)
    #[command(
        after_help = "Examples:\n  vault login target-account\n  vault login --path s3/home target-account\n  vault login --stdout gds-users        # print the URL instead of opening a browser\n\nA role profile signs in as its role session; plain user keys sign in as a federated user\n(GetFederationToken, the user's own permissions). The URL signs in whoever opens it within\n15 minutes. AWS_VAULT_FEDERATION_URL and AWS_VAULT_CONSOLE_URL replace the sign-in endpoint\nand the console address."
    )]
    Login(LoginArgs),
    /// Print shell aliases that run commands under each profile
    #[command(
        after_help = "Examples:\n  eval \"$(vault alias)\"            # bash, zsh: then `aws-target-account terraform plan`\n  vault alias --shell fish | source\n  vault alias --prefix av-"
    )]
    Alias(AliasArgs),
    /// Print a shell completion script (completes profile names too)
    #[command(
        after_help = "Examples:\n  source <(vault completion bash)\n  vault completion zsh > \"${fpath[1]}/_vault\"\n  vault completion fish > ~/.config/fish/completions/vault.fish"
    )]
    Completion(CompletionArgs),
    /// Delete cached sessions
    #[command(after_help = "Examples:\n  vault clear\n  vault clear target-account")]
    Clear(ClearArgs),
    /// List profiles, the vault entries they use and their cached sessions
    #[command(
        visible_alias = "ls",
        after_help = "Examples:\n  vault list\n  vault list --profiles"
    )]
    List(ListArgs),
    /// Show a profile's resolved settings and its chain of credential sources
    #[command(
        after_help = "Examples:\n  vault show target-account\n  vault show target-account --json"
    )]
    Show(ShowArgs),
    /// Print vault's version, commit, build date, linking and backends (as `--version --verbose`)
    Version,
    /// Bring keys in from aws-vault's stores, a plaintext credentials file, or another backend
    #[command(
        after_help = "Examples:\n  vault import aws-vault\n  vault import aws-vault --from file --dry-run\n  vault import credentials-file\n  vault import vault --from file"
    )]
    Import(ImportArgs),
    /// IAM Identity Center (SSO): sign in, sign out, write profiles for your accounts
    #[command(subcommand)]
    Sso(SsoCommand),
    /// Set up the base account: keys, its MFA device found through IAM, one verified session
    #[command(
        after_help = "Examples:\n  vault setup gds-users\n  vault setup gds-users --region eu-west-1\n  vault setup gds-users --mfa-serial arn:aws:iam::111111111111:mfa/jane --no-verify\n\nAsks for the keys when none are stored, says whose they are (GetCallerIdentity), finds the\nuser's MFA device (ListMFADevices), writes `mfa_serial` (and `region`) into\n[profile PROFILE] of the config, keeping every other byte, then makes one MFA session.\nRun it again at any time: when everything is in place it says so and changes nothing."
    )]
    Setup(SetupArgs),
    /// Write role profiles into the config: one (`add-role`), or a team's list (`sync`)
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check the setup: files, modes, the store, every profile, SSO sign-ins, keys and clock
    #[command(
        after_help = "Examples:\n  vault doctor\n  vault doctor gds-users\n  vault doctor --offline\n  vault doctor --json\n\nEach check prints ok, warn, fail or skip (not checked), why, and the command that fixes\nit. Unless --offline, each profile with stored keys makes one STS call (who, and the clock)\nand two IAM calls (its access keys' age, its MFA devices), with no MFA prompt; a call the\naccount refuses without MFA is \"not checked (needs MFA)\". Exits 1 when a check fails."
    )]
    Doctor(DoctorArgs),
    /// Sign in with your console sign-in (password, MFA, passkey) instead of an access key,
    /// as `aws login` does: writes `login_session` into the profile
    #[command(
        after_help = "Examples:\n  vault signin gds-users\n  vault signin --region eu-west-1 gds-users\n  vault signin --remote gds-users     # sign in on another device, paste the code\n\nThe session gives 15-minute credentials, refreshed by vault for up to 12 hours. Its token\nlives in vault's store (encrypted), or in ~/.aws/login/cache with `login_token_cache = shared`\nin config.toml (AWS_VAULT_LOGIN_TOKEN_CACHE=shared). A session `aws login` made is used and\nrefreshed in its own file. AWS_ENDPOINT_URL_SIGNIN replaces the Sign-In service's address."
    )]
    Signin(SigninArgs),
    /// Delete a profile's sign-in session token and the sessions made from it (nothing is
    /// revoked at AWS, as with `aws logout`)
    #[command(after_help = "Examples:\n  vault signout gds-users")]
    Signout(SignoutArgs),
}

#[derive(Debug, Args)]
pub struct SigninArgs {
    /// The profile to sign in (`login_session` is written into it)
    #[arg(env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: String,

    /// The region to sign in to (kept with the session: its refreshes go there too)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Sign in on another device: print the URL, then paste the code the page shows
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct SignoutArgs {
    /// The profile whose sign-in session to end
    #[arg(env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The base profile: the IAM user's keys (e.g. gds-users)
    pub profile: String,

    /// Write this `region` into the profile
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// The MFA device's ARN, instead of the one IAM lists (or asking among several)
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,

    /// Do not make the MFA session at the end
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigCommand {
    /// Append a role profile sourced from your base profile (the guide's section)
    #[command(
        after_help = "Examples:\n  vault config add-role target-account --role-arn arn:aws:iam::123456789012:role/admin\n  vault config add-role ro --role-arn arn:aws:iam::123456789012:role/readonly --no-mfa\n\n`source_profile` is the one profile with keys in vault unless given; `mfa_serial` and\n`region` are the source profile's unless given."
    )]
    AddRole(ConfigAddRoleArgs),
    /// Write a team's list of accounts and roles into one managed block of the config
    #[command(
        after_help = "Examples:\n  vault config sync team.ini\n  curl -fsS https://example.com/team.ini | vault config sync -\n  vault config sync team.ini --prefix gds- --dry-run\n\nFILE holds AWS config `[profile NAME]` sections (`role_arn`, `region`, ...). vault adds\n`source_profile` and `mfa_serial` from your base profile and writes the profiles between\ntwo marker comments naming FILE; running it again rewrites only that block. A list that\nsets credential_process, mfa_process, source_profile, credential_source, include_profile,\nendpoint_url, web_identity_token_file or an sso_ key is refused whole."
    )]
    Sync(ConfigSyncArgs),
}

#[derive(Debug, Args)]
pub struct ConfigAddRoleArgs {
    /// The new profile's name
    pub name: String,

    /// The role to assume (arn:aws:iam::ACCOUNT:role/NAME)
    #[arg(long, value_name = "ARN")]
    pub role_arn: String,

    /// The profile whose keys assume the role (default: the one profile with stored keys)
    #[arg(long, value_name = "P")]
    pub source_profile: Option<String>,

    /// The profile's region (default: the source profile's)
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// The MFA device (default: the source profile's `mfa_serial`)
    #[arg(long, value_name = "ARN", conflicts_with = "no_mfa")]
    pub mfa_serial: Option<String>,

    /// No `mfa_serial` in the new profile
    #[arg(long)]
    pub no_mfa: bool,
}

#[derive(Debug, Args)]
pub struct ConfigSyncArgs {
    /// The team's list (AWS config `[profile NAME]` sections), or `-` for stdin
    #[arg(value_name = "FILE|-")]
    pub file: String,

    /// The profile whose keys assume the roles (default: the one profile with stored keys)
    #[arg(long, value_name = "P")]
    pub source_profile: Option<String>,

    /// Put this before every profile name of the list
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: String,

    /// Print the block that would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Check only this profile (and its keys)
    pub profile: Option<String>,

    /// The report as JSON (`version` 1; see the README)
    #[arg(long)]
    pub json: bool,

    /// No AWS calls: skip the clock, key-age and MFA-device checks
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SsoCommand {
    /// Sign in now (vault also signs in by itself when a token is needed)
    #[command(
        after_help = "Examples:\n  vault sso login dev-admin\n  vault sso login --sso-session my-sso\n  vault sso login --use-device-code dev-admin   # without a browser here\n\nWith a browser on this computer (BROWSER set; a display and xdg-open; macOS) the sign-in\npage comes back to a one-shot listener on 127.0.0.1; otherwise, over SSH and under WSL,\nvault prints a URL and a code to enter on any device. `sso_use_device_code = true | false`\nin the `[sso-session]` or in vault's config.toml chooses once. Instructions go to stderr."
    )]
    Login(SsoLoginArgs),
    /// Sign out: Logout at the portal, then delete the tokens and the role sessions
    #[command(
        after_help = "Examples:\n  vault sso logout\n  vault sso logout --sso-session my-sso"
    )]
    Logout(SsoLogoutArgs),
    /// List the accounts and roles you can use and print (or append) one profile each
    #[command(
        after_help = "Examples:\n  vault sso populate --sso-session my-sso\n  vault sso populate --sso-session my-sso --prefix corp- --region eu-west-1 --write\n\nWith --write the profiles are appended to the config file: profiles that already exist\nare left alone and no other byte of the file changes."
    )]
    Populate(SsoPopulateArgs),
}

#[derive(Debug, Args)]
pub struct SsoLoginArgs {
    /// A profile that uses SSO
    #[arg(
        required_unless_present = "sso_session",
        conflicts_with = "sso_session"
    )]
    pub profile: Option<String>,

    /// An `[sso-session NAME]` of the config, instead of a profile
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,

    /// Use the device-code flow (a URL and a code for any device) even if a browser is here
    #[arg(long, conflicts_with = "use_authorization_code")]
    pub use_device_code: bool,

    /// Use the browser flow (PKCE, a callback on 127.0.0.1) even over SSH, under WSL or
    /// where `sso_use_device_code = true` (Granted's flag)
    #[arg(long)]
    pub use_authorization_code: bool,

    /// Print the URL; do not open a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct SsoLogoutArgs {
    /// Only this `[sso-session NAME]` (default: every SSO sign-in of the config)
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
}

#[derive(Debug, Args)]
pub struct SsoPopulateArgs {
    /// The `[sso-session NAME]` to list accounts and roles of
    #[arg(long, value_name = "NAME")]
    pub sso_session: String,

    /// Put before each profile name
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: String,

    /// `region` for each new profile
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// Append the new profiles to the config file instead of printing them
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The profile whose keys these are
    pub profile: String,

    /// Take the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking
    #[arg(long)]
    pub env: bool,

    /// Do not add a `[profile NAME]` section to the config file
    #[arg(long, overrides_with = "add_config")]
    pub no_add_config: bool,

    /// Add a `[profile NAME]` section to the config file when there is none (the default)
    #[arg(long, overrides_with = "no_add_config")]
    pub add_config: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub session: SessionArgs,

    /// Serve credentials from a local endpoint (refreshed as they near expiry) instead of
    /// putting them in the environment; vault stays the parent and forwards signals
    #[arg(short = 's', long, visible_alias = "ecs-server")]
    pub server: bool,

    /// With a server: get the credentials at the first request, not before the command starts
    #[arg(long)]
    pub lazy: bool,

    /// Serve the EC2 instance metadata protocol (IMDSv2) on 127.0.0.1 instead, at
    /// AWS_EC2_METADATA_SERVICE_ENDPOINT (no root needed, unlike aws-vault's)
    #[arg(long)]
    pub ec2_server: bool,

    /// With --ec2-server: also answer IMDSv1 requests (GETs without a token)
    #[arg(long, requires = "ec2_server")]
    pub ec2_server_v1: bool,

    /// Print the credential_process JSON instead of running a command (aws-vault's
    /// deprecated spelling of `vault export --format json`)
    #[arg(short = 'j', long, hide = true)]
    pub json: bool,

    /// Set AWS_PROFILE for the command instead of credentials (ByteNess)
    #[arg(long, env = "AWS_VAULT_PROFILE_ENV", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub profile_env: bool,

    /// The profile whose credentials to use
    #[arg(env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: String,

    /// The command and its arguments (default: $SHELL, else /bin/sh)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<std::ffi::OsString>,
}

// The options `exec` and `export` share (a plain comment: a doc comment here would become
// both commands' description in `--help` and the man pages).
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// How long the session should last (e.g. 1h, 90m, 3600s)
    #[arg(
        short,
        long,
        value_name = "DURATION",
        env = "AWS_VAULT_DURATION",
        hide_env_values = true
    )]
    pub duration: Option<String>,

    /// Skip GetSessionToken: use the long-lived keys (or assume the role) directly
    #[arg(short, long)]
    pub no_session: bool,

    /// The MFA code, instead of asking for it
    #[arg(short = 't', long, value_name = "CODE")]
    pub mfa_token: Option<String>,

    /// The region (sets AWS_REGION and AWS_DEFAULT_REGION)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Print an SSO sign-in URL instead of opening a browser
    #[arg(long, env = "AWS_VAULT_STDOUT", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub session: SessionArgs,

    /// Output format
    #[arg(long, value_enum, default_value = "env")]
    pub format: ExportFormat,

    /// The profile whose credentials to print
    #[arg(env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct AliasArgs {
    /// The shell to print aliases for
    #[arg(long, value_enum, default_value = "bash")]
    pub shell: AliasShell,

    /// What each alias starts with
    #[arg(long, default_value = "aws-", value_name = "PREFIX")]
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AliasShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Only this profile's sessions
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The profile whose keys to delete
    pub profile: String,

    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,

    /// Delete only the profile's cached sessions (aws-vault's legacy flag; `vault clear`)
    #[arg(short, long, hide = true)]
    pub sessions_only: bool,
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
pub struct RotateArgs {
    /// The profile whose stored keys to replace
    pub profile: String,

    /// Call IAM with the long-lived keys instead of an MFA session
    #[arg(short, long)]
    pub no_session: bool,

    /// The MFA code, instead of asking for it
    #[arg(short = 't', long, value_name = "CODE")]
    pub mfa_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The profile to sign in with
    #[arg(env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: String,

    /// Print the sign-in URL instead of opening a browser
    #[arg(short, long)]
    pub stdout: bool,

    /// Sign out of any console session first, so this one is not refused (ByteNess)
    #[arg(short, long, env = "AWS_VAULT_AUTO_LOGOUT", hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub auto_logout: bool,

    /// The region of the console
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Skip GetSessionToken in the chain (a role is assumed from the keys directly)
    #[arg(short, long)]
    pub no_session: bool,

    /// The console page to open, after the console address (e.g. s3/home)
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,

    /// How long the session lasts (e.g. 1h, 90m): the federation token's, or the role's
    #[arg(
        short,
        long,
        value_name = "DURATION",
        env = "AWS_VAULT_DURATION",
        hide_env_values = true
    )]
    pub duration: Option<String>,

    /// The MFA code, instead of asking for it
    #[arg(short = 't', long, value_name = "CODE")]
    pub mfa_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The profile to show
    pub profile: String,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

impl GlobalCompat {
    /// Whether a flag that acts on its own (prints something and exits) was given.
    pub fn acts(&self) -> bool {
        self.completion_script_bash
            || self.completion_script_zsh
            || self.completion_bash.is_some()
            || self.help_long
            || self.help_man
            || self.version_short
    }
}

impl Cli {
    /// aws-vault's checks of flags that cannot go together: a usage error (exit 2), worded
    /// as aws-vault words it.
    pub fn conflict(&self) -> Option<&'static str> {
        let Some(Command::Exec(exec)) = &self.command else {
            return None;
        };
        match (exec.ec2_server, exec.server, exec.json) {
            (true, true, _) => Some("Can't use --ec2-server with --ecs-server"),
            (true, _, true) => Some("Can't use --ec2-server with --json"),
            (_, true, true) => Some("Can't use --ecs-server with --json"),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImportSource {
    /// Copy the long-lived keys aws-vault holds (its store is never changed)
    AwsVault(ImportAwsVaultArgs),
    /// Move the keys of the plaintext credentials file into the vault (a 0600 backup is kept)
    CredentialsFile(ImportCredentialsFileArgs),
    /// Copy vault's key entries from another of its backends into the current one
    Vault(ImportVaultArgs),
}

#[derive(Debug, Args)]
pub struct ImportVaultArgs {
    /// The backend to copy from: file, keychain, wincred, secret-service, keyctl, pass
    #[arg(long, value_name = "BACKEND")]
    pub from: String,

    /// Delete each entry from the source once it reads back equal from the current backend
    #[arg(long)]
    pub delete_source: bool,

    /// Only this profile (repeatable)
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,

    /// Say what would be imported, write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Replace keys the current backend already holds
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct ImportCredentialsFileArgs {
    /// Import the keys but leave the file as it is
    #[arg(long)]
    pub keep: bool,

    /// Only this profile (repeatable)
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,

    /// Say what would be imported, write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Replace keys the vault already holds
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct ImportAwsVaultArgs {
    /// aws-vault's backend: file, secret-service, pass, keychain, wincred, kwallet, keyctl
    /// (default: aws-vault's default for this platform; on Linux `file` when the Secret
    /// Service has no `awsvault` collection)
    #[arg(long, value_name = "BACKEND")]
    pub from: Option<String>,

    /// The file store's folder (default ~/.awsvault/keys), or for pass the password store;
    /// `--pass-prefix` names the folder aws-vault used in it (aws-vault's default: none)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,

    /// Only this profile (repeatable)
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,

    /// Say what would be imported, write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Replace keys the vault already holds
    #[arg(long)]
    pub overwrite: bool,
}
