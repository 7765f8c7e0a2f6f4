//! `vault export PROFILE --format F`: print credentials for shells, files and tools that run
//! `credential_process`. Prompts go to the terminal, never to stdout.

use crate::cli::ExportArgs;
use crate::error::Result;
use crate::export::render;

use super::credentials::{Request, obtain, refuse_nested};

pub fn run(context: &super::Context, args: &ExportArgs) -> Result<()> {
    refuse_nested()?;
    let obtained = obtain(context, &Request::new(&args.profile, &args.session)?)?;
    let text = render(
        args.format,
        &args.profile,
        &obtained.credentials,
        obtained.region.as_deref(),
    );
    super::print(&text)
}
