//! `vault exec PROFILE -- CMD`: run a command with the profile's credentials in its
//! environment, replacing vault with it.

use crate::cli::ExecArgs;
use crate::error::Result;
use crate::exec::{child_env, command_line, replace_with};

use super::credentials::{Request, obtain, refuse_nested};

pub fn run(context: &super::Context, args: &ExecArgs) -> Result<u8> {
    refuse_nested()?;
    if args.ec2_server {
        return Err(crate::error::Error::Unsupported {
            profile: args.profile.clone(),
            what: "`exec --ec2-server` (not built yet; use `exec --ecs-server`)".to_string(),
        });
    }
    let obtained = obtain(context, &Request::new(&args.profile, &args.session)?)?;
    if args.json {
        // aws-vault's deprecated `exec --json`: exactly `export --format json`.
        let text = super::export::render(
            crate::cli::ExportFormat::Json,
            &args.profile,
            &obtained.credentials,
            obtained.region.as_deref(),
        );
        return super::print(&text).map(|()| 0);
    }
    let mut env = child_env(
        std::env::vars_os(),
        &args.profile,
        &obtained.credentials,
        obtained.region.as_deref(),
    );
    if args.profile_env {
        // ByteNess's `--profile-env`: the credentials were checked; the command gets the
        // profile's name and resolves it itself.
        env.retain(|(key, _)| !crate::exec::CREDENTIAL_VARS.iter().any(|v| key == v));
        env.push(("AWS_PROFILE".into(), args.profile.clone().into()));
    }
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
    let context = context.clone();
    let profile = args.profile.clone();
    let session = crate::cli::SessionArgs {
        duration: args.session.duration.clone(),
        no_session: args.session.no_session,
        // A code works once; a refresh that needs MFA asks again.
        mfa_token: None,
        region: args.session.region.clone(),
        stdout: args.session.stdout,
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
