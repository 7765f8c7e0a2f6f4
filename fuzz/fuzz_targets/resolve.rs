//! Any bytes as a config file, every profile in it resolved: settings, the chain of credential
//! sources and the STS plan. Never a panic, never a hang: loops are errors.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vault::config::parse::parse;
use vault::config::profiles::ProfileSet;
use vault::config::resolve::{From, Overrides, Resolver};
use vault::sts::plan::{Options, Ttls, plan};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(sections) = parse(&text) else { return };
    let set = ProfileSet::new(&sections, &sections);
    // Profiles whose names start with `v` have keys in the vault.
    let stored = |name: &str| name.starts_with('v');
    let resolver = Resolver::new(&set, &stored);

    let mut names: Vec<String> = set.profiles().iter().map(|p| p.name.clone()).collect();
    names.extend(["default", "missing", "vault-only"].map(String::from));

    let mut role_override = Overrides::default();
    role_override.settings.push((
        "role_arn",
        "arn:aws:iam::1:role/fuzz".to_string(),
        From::Env {
            variable: "AWS_ROLE_ARN",
        },
    ));
    let options = [
        Options::default(),
        Options {
            duration: Some(Duration::from_secs(7200)),
            no_session: true,
        },
    ];

    for name in &names {
        for overrides in [&Overrides::default(), &role_override] {
            if let Ok(profile) = resolver.profile(name, overrides) {
                let _ = profile.duration_seconds();
                let _ = profile.transitive_session_tags();
                let _ = serde_json::to_string(&profile).expect("a profile serializes");
            }
            let Ok(chain) = resolver.chain(name, overrides) else {
                continue;
            };
            let _ = serde_json::to_string(&chain).expect("a chain serializes");
            for options in options {
                if let Ok(plan) = plan(&chain, options, Ttls::default()) {
                    let _ = serde_json::to_string(&plan).expect("a plan serializes");
                }
            }
        }
    }
});
