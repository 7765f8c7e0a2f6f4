//! Any bytes as a shared config file: the parser and the merge never panic, and what they
//! build is consistent (every profile is found under its own name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vault::config::parse::parse;
use vault::config::profiles::{ProfileSet, is_valid_name};

fuzz_target!(|data: &[u8]| {
    // vault refuses a file that is not UTF-8 before parsing; lossy decoding lets random
    // bytes still reach the parser as text.
    let text = String::from_utf8_lossy(data);
    let Ok(sections) = parse(&text) else { return };
    for section in &sections {
        for property in &section.properties {
            assert_eq!(property.key, property.key.to_ascii_lowercase());
        }
    }
    let set = ProfileSet::new(&sections, &sections);
    for profile in set.profiles() {
        assert!(is_valid_name(&profile.name), "{:?}", profile.name);
        assert_eq!(set.get(&profile.name), Some(profile));
        for (key, _) in profile.settings() {
            assert!(is_valid_name(key), "{key:?}");
        }
    }
    for session in set.sso_sessions() {
        assert_eq!(set.sso_session(&session.name), Some(session));
    }
    // Debug output redacts secrets; it must not panic either.
    let _ = format!("{set:?}");
});
