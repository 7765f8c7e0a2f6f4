//! In-process cost of reading a large config: parse, merge and resolve every profile's
//! chain, for 10,000 profiles. Run with `cargo bench --bench config`; prints medians.

mod timing;

use std::hint::black_box;

use timing::time;
use vault::config::parse::parse;
use vault::config::profiles::ProfileSet;
use vault::config::resolve::{Overrides, Resolver};

/// 10,000 profiles shaped like a large organisation's: one base, roles sourcing it, MFA.
pub fn big_config(profiles: usize) -> String {
    let mut text = String::from(
        "[default]\nregion = eu-west-1\n\n[profile gds-users]\nmfa_serial = arn:aws:iam::111111111111:mfa/jane\n\n",
    );
    for i in 1..profiles {
        text.push_str(&format!(
            "[profile team-{i}]\nsource_profile = gds-users\nrole_arn = arn:aws:iam::{:012}:role/admin\nmfa_serial = arn:aws:iam::111111111111:mfa/jane\nregion = eu-west-2 ; London\n\n",
            100_000_000_000u64 + i as u64
        ));
    }
    text
}

fn main() {
    let text = big_config(10_000);
    let parse_only = time(31, || {
        black_box(parse(black_box(&text)).unwrap());
    });
    let stored = |name: &str| name == "gds-users";
    let everything = time(31, || {
        let sections = parse(&text).unwrap();
        let set = ProfileSet::new(&sections, &[]);
        let resolver = Resolver::new(&set, &stored);
        for profile in set.profiles().iter().filter(|p| p.name != "default") {
            black_box(
                resolver
                    .chain(&profile.name, &Overrides::default())
                    .unwrap(),
            );
        }
    });
    println!("config of 10,000 profiles ({} KiB):", text.len() / 1024);
    println!(
        "  parse                          median {:>8.2} ms",
        parse_only.as_secs_f64() * 1e3
    );
    println!(
        "  parse + merge + resolve all    median {:>8.2} ms",
        everything.as_secs_f64() * 1e3
    );
}
