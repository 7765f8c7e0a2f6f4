//! `vault exec PROFILE -- CMD`: run a command with the profile's credentials in its
//! environment, replacing vault with it.

use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::exec::{child_env, command_line, replace_with};

use super::credentials::{Request, obtain, refuse_nested};

pub fn run(context: &super::Context, args: &ExecArgs) -> Result<()> {
    refuse_nested()?;
    if args.server {
        return Err(Error::Unsupported {
            profile: args.profile.clone(),
            what: "`exec --server` (the container credentials endpoint)".to_string(),
        });
    }
    let obtained = obtain(context, &Request::new(&args.profile, &args.session)?)?;
    let env = child_env(
        std::env::vars_os(),
        &args.profile,
        &obtained.credentials,
        obtained.region.as_deref(),
    );
    let (program, program_args) = command_line(&args.command, std::env::var_os("SHELL"));
    crate::debug!("exec `{}`", program.to_string_lossy());
    Err(replace_with(&program, &program_args, env))
}
