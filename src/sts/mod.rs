//! Temporary credentials: `plan` (pure: chain -> calls and cache keys), `session` (cache,
//! locks, MFA, calls) and `aws` (the only module that knows the AWS SDK).

pub mod aws;
pub mod plan;
pub mod session;
