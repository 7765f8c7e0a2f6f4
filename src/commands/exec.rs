//! `vault exec PROFILE -- CMD`: run a command with the profile's credentials in its
//! environment, replacing vault with it.

use crate::cli::ExecArgs;
use crate::error::Result;
use crate::exec::{child_env, command_line, replace_with};

use super::credentials::{Request, obtain, refuse_nested};

pub fn run(context: &super::Context, args: &ExecArgs) -> Result<u8> {
    refuse_nested()?;
    let obtained = obtain(context, &Request::new(&args.profile, &args.session)?)?;
    let env = child_env(
        std::env::vars_os(),
        &args.profile,
        &obtained.credentials,
        obtained.region.as_deref(),
    );
    let (program, program_args) = command_line(&args.command, std::env::var_os("SHELL"));
    if args.server {
        return serve(
            context,
            args,
            obtained.credentials,
            &program,
            &program_args,
            env,
        );
    }
    crate::debug!("exec `{}`", program.to_string_lossy());
    Err(replace_with(&program, &program_args, env))
}

/// `--server`: the command asks a local endpoint, which refreshes the session as needed.
#[cfg(unix)]
fn serve(
    context: &super::Context,
    args: &ExecArgs,
    credentials: crate::store::Credentials,
    program: &std::ffi::OsString,
    program_args: &[std::ffi::OsString],
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<u8> {
    // The command owns the terminal while it runs: refreshes ask in a window or not at all.
    let mut context = context.clone();
    context.terminal = false;
    let profile = args.profile.clone();
    let session = crate::cli::SessionArgs {
        duration: args.session.duration.clone(),
        no_session: args.session.no_session,
        // A code works once; a refresh that needs MFA asks again.
        mfa_token: None,
        region: args.session.region.clone(),
    };
    let refresh = Box::new(move || {
        obtain(&context, &Request::new(&profile, &session)?).map(|o| o.credentials)
    });
    let min_ttl = super::credentials::ttls(super::var)?.min;
    let status = crate::server::run(credentials, refresh, min_ttl, program, program_args, env)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

#[cfg(not(unix))]
fn serve(
    _: &super::Context,
    args: &ExecArgs,
    _: crate::store::Credentials,
    _: &std::ffi::OsString,
    _: &[std::ffi::OsString],
    _: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<u8> {
    Err(crate::error::Error::Unsupported {
        profile: args.profile.clone(),
        what: "`exec --server` on this platform".to_string(),
    })
}
