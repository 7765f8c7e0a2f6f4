//! Concurrency at scale: 50 cold callers of one profile make one STS call between them;
//! 50 callers of 50 profiles all succeed and leave the store intact.

mod support;

use std::process::{Child, Stdio};

use support::{World, wait_all};

fn spawn(world: &World, profile: &str) -> Child {
    let mut command =
        world
            .home
            .command(["exec", profile, "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().unwrap()
}

fn world() -> World {
    let mut world = World::new();
    // As people run it: the unlock cache spares 49 of the 50 callers the KDF.
    world.home.env("AWS_VAULT_UNLOCK_TTL", "60s");
    world
}

#[test]
fn fifty_cold_callers_of_one_profile_make_one_call() {
    let world = world();
    world.moto.start_recording();
    let keys = wait_all((0..50).map(|_| spawn(&world, "readonly")).collect());
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
    assert!(
        keys.iter().all(|k| k == &keys[0] && k.starts_with("ASIA")),
        "{keys:?}"
    );
}

#[test]
fn fifty_callers_of_fifty_profiles_all_succeed() {
    let world = world();
    let readonly = world.moto.role_arn("readonly");
    let mut config = String::from("[profile gds-users]\n");
    for i in 0..50 {
        config.push_str(&format!(
            "[profile team-{i}]\nsource_profile = gds-users\nrole_arn = {readonly}\n"
        ));
    }
    world.home.config(&config);
    world.moto.start_recording();
    let keys = wait_all(
        (0..50)
            .map(|i| spawn(&world, &format!("team-{i}")))
            .collect(),
    );
    assert_eq!(world.moto.credential_calls().len(), 50);
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 50, "each profile has its own session");

    let sessions = world.run(&["list", "--sessions"]);
    assert_eq!(sessions.ok().lines().count(), 50);
    assert_eq!(sessions.stderr, "", "no damaged entry");
    // Warm now: 50 more callers, no STS call.
    world.moto.start_recording();
    wait_all(
        (0..50)
            .map(|i| spawn(&world, &format!("team-{i}")))
            .collect(),
    );
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());
}
