//! Temporary credentials: `plan` (pure: chain -> calls and cache keys), `session` (cache,
//! locks, MFA, calls), `aws`, `iam` and `providers` (the only modules that know the AWS SDK).

pub mod aws;
pub mod iam;
pub mod plan;
pub mod providers;
pub mod session;
