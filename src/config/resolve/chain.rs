//! A selected profile's chain: where its first credentials come from (`Base`) and the roles
//! assumed on top, in order, as the resolver's walk (`mod.rs`) found them. No I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ResolvedProfile;
use crate::config::profiles::Place;

/// Where the first credentials in a chain come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Base {
    /// Long-lived keys kept in the vault under the profile's name.
    StoredKeys {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
    },
    /// Keys written in the plaintext config or credentials file.
    PlaintextKeys {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        access_key_id: String,
    },
    /// `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`).
    NamedSource {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        source: String,
    },
    WebIdentity {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        role_arn: String,
        token_file: String,
        session_name: Option<String>,
    },
    Sso {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        session: Option<String>,
        account_id: Option<String>,
        role_name: Option<String>,
        region: Option<String>,
        start_url: Option<String>,
        /// `sso_registration_scopes` of the `[sso-session]`, as written.
        #[serde(skip_serializing_if = "Option::is_none")]
        scopes: Option<String>,
        /// Where each SSO value, and the sections (keys [`super::PROFILE_HEADER`] and
        /// [`super::SESSION_HEADER`]), were written, for errors.
        #[serde(skip)]
        places: BTreeMap<String, Place>,
    },
    CredentialProcess {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        command: String,
    },
    /// `login_session = <ARN>`: a sign-in session (`aws login`, `vault signin`).
    LoginSession {
        #[serde(serialize_with = "name_only")]
        profile: ResolvedProfile,
        /// The session's ARN, as written (trimmed).
        session: String,
    },
}

impl Base {
    pub fn profile(&self) -> &ResolvedProfile {
        match self {
            Base::StoredKeys { profile }
            | Base::PlaintextKeys { profile, .. }
            | Base::NamedSource { profile, .. }
            | Base::WebIdentity { profile, .. }
            | Base::Sso { profile, .. }
            | Base::CredentialProcess { profile, .. }
            | Base::LoginSession { profile, .. } => profile,
        }
    }
}

/// A selected profile's credential sources: a base, then roles assumed in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub base: Base,
    /// Profiles whose `role_arn` is assumed, the first with the base's credentials.
    #[serde(serialize_with = "role_steps")]
    pub roles: Vec<ResolvedProfile>,
}

/// In a chain's JSON a profile is named, not repeated in full.
fn name_only<S: serde::Serializer>(profile: &ResolvedProfile, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&profile.name)
}

/// Each role as its profile and the settings that shape the AssumeRole call.
fn role_steps<S: serde::Serializer>(roles: &[ResolvedProfile], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    const KEYS: &[&str] = &[
        "role_arn",
        "mfa_serial",
        "external_id",
        "role_session_name",
        "duration_seconds",
        "source_identity",
        "session_tags",
        "transitive_session_tags",
    ];
    let mut seq = s.serialize_seq(Some(roles.len()))?;
    for role in roles {
        let mut step = BTreeMap::new();
        step.insert("profile", role.name.as_str());
        for key in KEYS {
            if let Some(value) = role.get(key) {
                step.insert(key, value);
            }
        }
        seq.serialize_element(&step)?;
    }
    seq.end()
}

impl Chain {
    /// The vault entry the chain starts from, if any.
    pub fn stored_keys(&self) -> Option<&str> {
        match &self.base {
            Base::StoredKeys { profile } => Some(&profile.name),
            _ => None,
        }
    }

    /// The profile whose credentials come last: the last role, else the base's.
    pub fn last(&self) -> &ResolvedProfile {
        self.roles.last().unwrap_or(self.base.profile())
    }
}
