//! `vault exec PROFILE -- CMD`: run a command with the profile's credentials in its
//! environment, replacing vault with it.

use crate::cli::ExecArgs;
use crate::error::Result;
use crate::exec::{child_env, command_line, replace_with};

use super::credentials::{Request, obtain, prepare, refuse_nested};

pub fn run(context: &super::Context, args: &ExecArgs) -> Result<u8> {
    refuse_nested()?;
    if (args.server || args.ec2_server) && args.lazy {
        return serve_lazily(context, args);
    }
    let obtained = obtain(context, &Request::new(&args.profile, &args.session)?)?;
    if args.json {
        // aws-vault's deprecated `exec --json`: exactly `export --format json`.
        let text = crate::export::render(
            crate::export::ExportFormat::Json,
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
    if args.server || args.ec2_server {
        return serve(
            context,
            args,
            Some(obtained.credentials),
            obtained.region,
            &program,
            &program_args,
            env,
        );
    }
    crate::debug!("exec `{}`", program.to_string_lossy());
    Err(replace_with(&program, &program_args, env))
}

/// `--server --lazy`: the command starts at once; the first request gets the credentials
/// (and asks for an MFA code then, if one is needed).
fn serve_lazily(context: &super::Context, args: &ExecArgs) -> Result<u8> {
    Request::new(&args.profile, &args.session)?;
    let region = prepare(context, &args.profile, args.session.region.as_deref())?.region();
    let none = crate::store::Credentials {
        access_key_id: String::new(),
        secret_access_key: String::new().into(),
        session_token: None,
        expiration: None,
    };
    // The credential variables are taken out again for the server's: none reaches the command.
    let env = child_env(std::env::vars_os(), &args.profile, &none, region.as_deref());
    let (program, program_args) = command_line(&args.command, std::env::var_os("SHELL"));
    serve(context, args, None, region, &program, &program_args, env)
}

/// `--server`: the command asks a local endpoint, which refreshes the session as needed.
/// `credentials` `None` (`--lazy`): the first request gets them.
#[cfg(unix)]
fn serve(
    context: &super::Context,
    args: &ExecArgs,
    credentials: Option<crate::store::Credentials>,
    region: Option<String>,
    program: &std::ffi::OsString,
    program_args: &[std::ffi::OsString],
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<u8> {
    let ttls = super::credentials::ttls(super::var)?;
    // The command owns the terminal while it runs: refreshes (and --lazy's first fetch) ask
    // in a window or not at all.
    let mut context = context.clone();
    context.terminal = false;
    let endpoint = if args.ec2_server {
        crate::server::Endpoint::Imds {
            v1: args.ec2_server_v1,
            region,
        }
    } else {
        crate::server::Endpoint::Ecs(role_assumer(&context, args, ttls.assume_role)?)
    };
    let profile = args.profile.clone();
    let session = crate::cli::SessionArgs {
        duration: args.session.duration.clone(),
        no_session: args.session.no_session,
        // A code works once: for the first fetch with --lazy; a refresh that needs MFA asks.
        mfa_token: credentials
            .is_none()
            .then(|| args.session.mfa_token.clone())
            .flatten(),
        region: args.session.region.clone(),
        stdout: args.session.stdout,
    };
    let mut session = session;
    let refresh = Box::new(move || {
        let request = Request::new(&profile, &session)?;
        session.mfa_token = None;
        obtain(&context, &request).map(|o| o.credentials)
    });
    let status = crate::server::run(
        credentials,
        refresh,
        endpoint,
        ttls.min,
        program,
        program_args,
        env,
    )?;
    Ok(u8::try_from(status).unwrap_or(1))
}

/// `/role-arn/<ARN>`: AssumeRole from the served credentials, with the STS region and
/// endpoint of the profile, for the role TTL (AWS_ASSUME_ROLE_TTL, or `--duration`).
#[cfg(unix)]
fn role_assumer(
    context: &super::Context,
    args: &ExecArgs,
    default: std::time::Duration,
) -> Result<crate::server::ecs::Assume> {
    let prepared = prepare(context, &args.profile, args.session.region.as_deref())?;
    let region = prepared.region();
    let last = prepared.chain.last();
    let endpoint = crate::sts::aws::sts_endpoint(
        last.get("endpoint_url"),
        last.get("sts_regional_endpoints"),
        super::var,
    );
    let duration = Request::new(&args.profile, &args.session)?
        .duration
        .unwrap_or(default)
        .as_secs();
    let source = args.profile.clone();
    Ok(Box::new(move |credentials, arn| {
        crate::sts::aws::assume_role(
            credentials,
            arn,
            duration,
            region.as_deref(),
            endpoint.as_deref(),
            &source,
        )
    }))
}

#[cfg(not(unix))]
fn serve(
    _: &super::Context,
    args: &ExecArgs,
    _: Option<crate::store::Credentials>,
    _: Option<String>,
    _: &std::ffi::OsString,
    _: &[std::ffi::OsString],
    _: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<u8> {
    Err(crate::error::Error::Unsupported {
        profile: args.profile.clone(),
        what: "`exec --server` on this platform".to_string(),
    })
}
