//! The cross-SDK test vectors in `tests/data` (see its README), every case, through the
//! library's parser and resolver.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use vault::config::parse::parse;
use vault::config::profiles::ProfileSet;
use vault::config::resolve::{Base, Chain, Overrides, Resolver};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sections_json(sections: &[vault::config::profiles::Section]) -> Value {
    let mut out = Map::new();
    for section in sections {
        let props: Map<String, Value> = section
            .settings()
            .map(|(k, s)| (k.to_string(), json!(s.value)))
            .collect();
        out.insert(section.name.clone(), Value::Object(props));
    }
    Value::Object(out)
}

#[test]
fn profile_parser_vectors() {
    let data = load("profile-parser-tests.json");
    let cases = data["tests"].as_array().unwrap();
    assert_eq!(cases.len(), 65);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let config = parse(input["configFile"].as_str().unwrap_or(""));
        let credentials = parse(input["credentialsFile"].as_str().unwrap_or(""));
        let output = &case["output"];
        let got = match (config, credentials) {
            (Ok(config), Ok(credentials)) => {
                let set = ProfileSet::new(&config, &credentials);
                let mut got = json!({ "profiles": sections_json(set.profiles()) });
                if output["config"].get("sso_sessions").is_some() {
                    got["sso_sessions"] = sections_json(set.sso_sessions());
                }
                Ok(got)
            }
            (Err(e), _) | (_, Err(e)) => Err(e.message.to_string()),
        };
        let ok = match (&got, output.get("errorContaining")) {
            (Err(message), Some(expected)) => message.contains(expected.as_str().unwrap()),
            (Ok(got), None) => *got == output["config"],
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {output}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// SDK error sentences that vault words its own way (every other expected error must
/// appear in vault's message as written).
const WORDING: &[(&str, &str)] = &[
    (
        "profile contained both source_profile and credential_source",
        "profile `A` contained both source_profile and credential_source",
    ),
    (
        "profile missing aws_secret_access_key",
        "profile `B` has plaintext keys but is missing `aws_secret_access_key`",
    ),
    (
        "profile missing aws_access_key_id",
        "profile `B` has plaintext keys but is missing `aws_access_key_id`",
    ),
    (
        "could not find source profile B referenced from A",
        "profile `B` not found (referenced from `A`)",
    ),
    ("No profiles were defined", "profile `A` not found"),
];

/// A chain in the vectors' JSON shape. Vault entries appear as `{"Vault": name}`.
fn chain_json(chain: &Chain) -> Value {
    let mut steps = Vec::new();
    let base = match &chain.base {
        Base::StoredKeys { profile } => json!({ "Vault": profile.name }),
        Base::PlaintextKeys {
            profile,
            access_key_id,
        } => {
            let mut keys = json!({
                "access_key_id": access_key_id,
                "secret_access_key": profile.get("aws_secret_access_key"),
            });
            if let Some(account) = profile.get("aws_account_id") {
                keys["account_id"] = json!(account);
            }
            json!({ "AccessKey": keys })
        }
        Base::NamedSource { source, .. } => json!({ "NamedSource": source }),
        // Not in the vectors (their SDKs predate `login_session`): named for completeness.
        Base::LoginSession { session, .. } => json!({ "LoginSession": session }),
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
            ..
        } => {
            let mut w = json!({ "role_arn": role_arn, "web_identity_token_file": token_file });
            if let Some(name) = session_name {
                w["role_session_name"] = json!(name);
            }
            json!({ "WebIdentityToken": w })
        }
        Base::Sso {
            session,
            account_id,
            role_name,
            region,
            start_url,
            ..
        } => {
            let mut sso = Map::new();
            for (key, value) in [
                ("sso_session", session),
                ("sso_account_id", account_id),
                ("sso_role_name", role_name),
                ("sso_region", region),
                ("sso_start_url", start_url),
            ] {
                if let Some(value) = value {
                    sso.insert(key.to_string(), json!(value));
                }
            }
            json!({ "Sso": sso })
        }
        Base::CredentialProcess { command, .. } => json!({ "CredentialProcess": command }),
    };
    steps.push(base);
    for role in &chain.roles {
        let mut step = json!({ "role_arn": role.role_arn() });
        for key in ["external_id", "role_session_name"] {
            if let Some(value) = role.get(key) {
                step[key] = json!(value);
            }
        }
        steps.push(json!({ "AssumeRole": step }));
    }
    Value::Array(steps)
}

/// The case's profiles as config-file text, in a stable order.
fn config_text(input: &Value, skip_keys_of: &[String]) -> String {
    let mut text = String::new();
    let profiles: BTreeMap<_, _> = input["profiles"].as_object().unwrap().iter().collect();
    for (name, props) in profiles {
        text.push_str(&format!("[profile {name}]\n"));
        for (key, value) in props.as_object().unwrap() {
            let moved = skip_keys_of.contains(name) && key.starts_with("aws_");
            if !moved {
                text.push_str(&format!("{key} = {}\n", value.as_str().unwrap()));
            }
        }
    }
    if let Some(sessions) = input.get("sso_sessions").and_then(Value::as_object) {
        for (name, props) in sessions {
            text.push_str(&format!("[sso-session {name}]\n"));
            for (key, value) in props.as_object().unwrap() {
                text.push_str(&format!("{key} = {}\n", value.as_str().unwrap()));
            }
        }
    }
    text
}

fn resolve(text: &str, stored: &[String], selected: &str) -> Result<Value, String> {
    let set = ProfileSet::new(&parse(text).unwrap(), &[]);
    let has = |name: &str| stored.iter().any(|s| s == name);
    let resolver = Resolver::new(&set, &has);
    resolver
        .chain(selected, &Overrides::default())
        .map(|chain| chain_json(&chain))
        .map_err(|e| e.to_string())
}

fn error_matches(got: &str, expected: &str) -> bool {
    let ours = WORDING
        .iter()
        .find(|(sdk, _)| *sdk == expected)
        .map_or(expected, |(_, ours)| ours);
    got.contains(ours)
}

#[test]
fn assume_role_vectors() {
    let cases = load("assume-role-tests.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 28);
    let mut failures = Vec::new();
    for case in cases {
        let docs = case["docs"].as_str().unwrap();
        let input = &case["input"];
        let selected = input["selected_profile"].as_str().unwrap();
        let expected = &case["output"];

        // As written: static keys in the plaintext file.
        let got = resolve(&config_text(input, &[]), &[], selected);
        let ok = match (&got, expected.get("Error")) {
            (Err(message), Some(e)) => error_matches(message, e.as_str().unwrap()),
            (Ok(chain), None) => *chain == expected["ProfileChain"],
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{docs} (plaintext): expected {expected}, got {got:?}"
            ));
        }

        // Vault variant: profiles with a full key pair keep it in the vault instead.
        let with_keys: Vec<String> = input["profiles"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| {
                p.get("aws_access_key_id").is_some() && p.get("aws_secret_access_key").is_some()
            })
            .map(|(name, _)| name.clone())
            .collect();
        if with_keys.is_empty() {
            continue;
        }
        let got = resolve(&config_text(input, &with_keys), &with_keys, selected);
        let expected_chain = expected.get("ProfileChain").map(|chain| {
            let mut chain = chain.clone();
            let id = chain[0]["AccessKey"]["access_key_id"].clone();
            if let Some((owner, _)) = input["profiles"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(_, p)| p.get("aws_access_key_id") == Some(&id))
            {
                chain[0] = json!({ "Vault": owner });
            }
            chain
        });
        let ok = match (&got, expected.get("Error"), expected_chain) {
            (Err(message), Some(e), _) => error_matches(message, e.as_str().unwrap()),
            (Ok(chain), None, Some(expected)) => *chain == expected,
            _ => false,
        };
        if !ok {
            failures.push(format!("{docs} (vault): expected {expected}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
