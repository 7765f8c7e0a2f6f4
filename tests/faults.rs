//! Faults, through the real binary: a read-only store folder, a full disk, a store deleted
//! between commands, a config rewritten while `exec` runs, an STS that is unreachable, silent
//! or talking nonsense, a clock past a session's expiry, and SIGKILL during a refresh.
//!
//! Each ends with a clear error (exit 1, `error: ...` naming the file or endpoint, a `hint:`
//! where one helps) and an intact store, or with a correct result.
//!
//! Tools: `setpriv` and `prlimit` (util-linux), `mount` of a tmpfs (needs root, skipped
//! otherwise), `faketime` (installed by scripts/setup).

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use support::{Home, PASSPHRASE, Run, World};
use vault::prompt::Scripted;
use vault::store::crypto::Kdf;
use vault::store::file::{FileStore, Unlock};
use vault::store::{EntryId, Store};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NEW_SECRET: &str = "new-secret-00000000000000000000000000000";
/// What `aws sts get-caller-identity` prints as the child of `vault exec PROFILE --`.
const CALLER_ARN: [&str; 7] = [
    "aws",
    "sts",
    "get-caller-identity",
    "--query",
    "Arn",
    "--output",
    "text",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn assumed(role: &str) -> String {
    format!("arn:aws:sts::123456789012:assumed-role/{role}/")
}

/// A HOME with made-up keys stored for `gds-users` and a role on them, for tests whose STS
/// is not moto (it is unreachable, silent or broken).
fn offline_home() -> Home {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_DEFAULT_REGION", "eu-west-2");
    home.config(
        "[profile gds-users]\n\n[profile readonly]\nsource_profile = gds-users\n\
         role_arn = arn:aws:iam::123456789012:role/readonly\n",
    );
    add(&home, "gds-users", SECRET).ok();
    home
}

/// `vault add PROFILE --env --no-add-config` with the keys `ID` and `secret`.
fn add(home: &Home, profile: &str, secret: &str) -> Run {
    home.add_keys(profile, ID, secret)
}

fn store_dir(home: &Home) -> PathBuf {
    home.path().join(".local/share/vault")
}

/// The store's own files and their bytes (not the `locks` folder, which a cold `exec` may
/// add a lock file to).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Temp files of interrupted writes in the store folder.
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp-"))
        .collect()
}

/// The secret key stored for `profile` in the store at `dir`, read with the library.
fn stored_secret(dir: &Path, profile: &str) -> Option<String> {
    let mut store = FileStore::new(
        dir.to_path_buf(),
        Unlock {
            passphrase: Some(SecretString::from(PASSPHRASE)),
            prompt: Box::new(Scripted::default()),
            ttl: Duration::ZERO,
            new_kdf: Kdf::new,
        },
    );
    let id = EntryId::Keys {
        profile: profile.to_string(),
    };
    store
        .get(&id)
        .unwrap()
        .map(|keys| keys.secret_access_key.expose_secret().to_string())
}

fn output(mut command: Command) -> Run {
    Run::from(command.output().unwrap())
}

fn is_root(home: &Home) -> bool {
    home.path().metadata().unwrap().uid() == 0
}

/// A TCP server on 127.0.0.1 standing in for STS: it answers every request with `response`
/// or, given none, accepts connections and never answers. Counts connections; stops when
/// dropped.
struct FakeSts {
    endpoint: String,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeSts {
    fn start(response: Option<String>) -> FakeSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        stream.set_nonblocking(false).unwrap();
                        match &response {
                            Some(response) => answer(stream, response),
                            None => held.push(stream),
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("fake STS: {e}"),
                }
            }
        });
        FakeSts {
            endpoint,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeSts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP request (headers, then Content-Length bytes of body) and writes `response`.
fn answer(mut stream: TcpStream, response: &str) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let body_start = loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let headers = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |n| n.trim().parse().unwrap());
    while request.len() < body_start + length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn http_response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// An address on 127.0.0.1 where nothing listens.
fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

// ---------------------------------------------------------------------------------------
// 1. A read-only store folder
// ---------------------------------------------------------------------------------------

/// Gives HOME back to the test (owner and modes) so that it can be deleted, even when the
/// test fails.
struct Restore {
    home: PathBuf,
    dirs: Vec<PathBuf>,
    uid: u32,
    gid: u32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let _ = Command::new("chown")
            .arg("-R")
            .arg(format!("{}:{}", self.uid, self.gid))
            .arg(&self.home)
            .status();
    }
}

/// The store folder (and its `locks` folder) made read-only with `chmod 0500`, as a person
/// would. Root ignores permissions, so when the tests run as root, HOME is given to `nobody`
/// and every `vault` runs as `nobody` through `setpriv` (util-linux): the kernel then
/// refuses the writes with EACCES exactly as it would for the folder's owner. (`chattr +i`
/// works for root too, but gives EPERM, which no person sees for a folder of their own.)
#[test]
fn read_only_store_folder() {
    let world = World::new();
    let store = store_dir(&world.home);
    let warm = world.caller_arn(&["readonly"]);
    assert!(warm.starts_with(&assumed("readonly")), "{warm}");
    let key_of = |run: Run| run.ok().trim().to_string();
    let warm_key = key_of(world.run(&[
        "exec",
        "readonly",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
    ]));
    let before = snapshot(&store);
    let config = std::fs::read(world.home.path().join(".aws/config")).unwrap();

    let meta = world.home.path().metadata().unwrap();
    let root = is_root(&world.home);
    let _restore = Restore {
        home: world.home.path().to_path_buf(),
        dirs: vec![store.clone(), store.join("locks")],
        uid: meta.uid(),
        gid: meta.gid(),
    };
    if root {
        let chowned = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(world.home.path())
            .status()
            .unwrap();
        assert!(chowned.success());
    }
    for dir in [store.clone(), store.join("locks")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let as_owner = |args: &[&str]| {
        if root {
            let wrapper = [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ];
            world.home.wrapped(&wrapper, args)
        } else {
            world.home.command(args)
        }
    };

    // Adding keys fails, naming the file and the folder; the config is left alone.
    let mut command = as_owner(&["add", "other", "--env"]);
    command
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let added = output(command);
    let stderr = added.fails();
    let shown = store.display();
    assert!(
        stderr.starts_with(&format!("error: could not write `{shown}/keys-"))
            && stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!(
            "\nhint: vault must be able to write in `{shown}`: check its owner, permissions and mount\n"
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(world.home.path().join(".aws/config")).unwrap(),
        config
    );

    // What is there is still listed and read: a warm exec uses its cached session.
    assert_eq!(
        output(as_owner(&["list", "--credentials"])).ok(),
        "gds-users\n"
    );
    world.moto.start_recording();
    let echo_key = ["--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"];
    let mut args = vec!["exec", "readonly"];
    args.extend(echo_key);
    assert_eq!(key_of(output(as_owner(&args))), warm_key);
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());

    // A cold exec (no session, no lock file yet) reads the keys, makes the call and runs the
    // command with a warning that the session could not be kept.
    let mut args = vec!["exec", "partner-ok"];
    args.extend(echo_key);
    let cold = output(as_owner(&args));
    let key = cold.ok().trim().to_string();
    assert!(key.starts_with("ASIA") && key != warm_key, "{cold:?}");
    assert!(
        cold.stderr.starts_with(&format!(
            "warning: the new session is used but not cached: could not write `{shown}/session-"
        )) && cold.stderr.contains("Permission denied"),
        "{cold:?}"
    );
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);

    assert_eq!(snapshot(&store), before, "the store changed");
}

// ---------------------------------------------------------------------------------------
// 2. A full disk
// ---------------------------------------------------------------------------------------

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` when mounting is not allowed here (not root, no CAP_SYS_ADMIN).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(at.to_path_buf()))
    }

    /// Fills the file system with 4 KiB files (a tmpfs page each); returns them.
    fn fill(&self, from: usize) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for i in from.. {
            let path = self.0.join(format!("filler-{i}"));
            if std::fs::write(&path, [0u8; 4096]).is_err() {
                let _ = std::fs::remove_file(&path);
                return files;
            }
            files.push(path);
        }
        unreachable!()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// On a 64 KiB tmpfs: a new store, a new entry and a replaced entry each fail on a full disk
/// with ENOSPC named, leaving nothing (no header, no entry, no temp file) or the old value;
/// with room for the entry but not for the index (only a cache), the change is made.
#[test]
fn full_disk() {
    let mut home = Home::new();
    let Some(disk) = Tmpfs::mount(&home.path().join("small"), "64k") else {
        assert!(!is_root(&home), "root could not mount a tmpfs");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let dir = disk.0.join("vault");
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0")
        .env("AWS_VAULT_FILE_DIR", dir.display().to_string());
    let shown = dir.display();
    let no_space = |stderr: &str, file: &str| {
        assert!(
            stderr.starts_with(&format!("error: could not write `{shown}/{file}"))
                && stderr.ends_with(&format!(
                    ": No space left on device (os error 28)\n\
                     hint: free some space on the disk that holds `{shown}`, then try again\n"
                )),
            "{stderr}"
        );
    };

    // A new store on a full disk: no header is left half-written.
    let mut fillers = disk.fill(0);
    assert!(fillers.len() > 10, "{} fillers", fillers.len());
    no_space(add(&home, "p1", SECRET).fails(), "vault.json`");
    assert!(!dir.join("vault.json").exists());
    assert_eq!(temps(&dir), Vec::<String>::new());

    // Room for the header, the entry and the index: the store is made.
    for filler in fillers.drain(..3) {
        std::fs::remove_file(filler).unwrap();
    }
    add(&home, "p1", SECRET).ok();
    fillers.extend(disk.fill(100));
    let before = snapshot(&dir);

    // Full: replacing keys keeps the old ones; a new profile leaves no entry.
    no_space(add(&home, "p1", NEW_SECRET).fails(), "keys-");
    no_space(add(&home, "p2", NEW_SECRET).fails(), "keys-");
    assert_eq!(snapshot(&dir), before);
    assert_eq!(stored_secret(&dir, "p1").as_deref(), Some(SECRET));
    assert_eq!(
        home.run(["list", "--credentials"]).ok(),
        "p1\n",
        "listing works on a full disk"
    );

    // One page free: the entry is written, the index is not; the add succeeds and the index
    // (a cache) gives way to reading the entries.
    std::fs::remove_file(fillers.pop().unwrap()).unwrap();
    let run = add(&home, "p2", NEW_SECRET);
    assert_eq!(
        run.ok(),
        "Added credentials to profile \"p2\" in vault\n",
        "{run:?}"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "p1\np2\n");
    assert_eq!(stored_secret(&dir, "p1").as_deref(), Some(SECRET));
    assert_eq!(stored_secret(&dir, "p2").as_deref(), Some(NEW_SECRET));
    assert_eq!(temps(&dir), Vec::<String>::new());
}

/// `ulimit -f` (RLIMIT_FSIZE) below an entry's size: the kernel sends SIGXFSZ, whose default
/// action kills vault mid-write (exit 128+25, no message). The old entry survives, and the
/// temp file the killed write left is removed by the next write.
#[test]
fn file_size_limit() {
    let mut home = Home::new();
    home.env("AWS_VAULT_BACKEND", "file")
        .env("AWS_VAULT_FILE_PASSPHRASE", PASSPHRASE)
        .env("AWS_VAULT_UNLOCK_TTL", "0");
    add(&home, "p", SECRET).ok();
    let dir = store_dir(&home);
    let before = snapshot(&dir);

    let mut command = home.wrapped(
        &["prlimit", "--fsize=300", "--core=0"],
        ["add", "p", "--env", "--no-add-config"],
    );
    command
        .env("AWS_ACCESS_KEY_ID", ID)
        .env("AWS_SECRET_ACCESS_KEY", NEW_SECRET);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let killed = output.status.signal() == Some(25);
    let reported = output.status.code() == Some(1)
        && stderr.contains("File too large")
        && stderr.contains(&format!("`{}", dir.display()));
    assert!(
        killed || reported,
        "neither killed by SIGXFSZ nor a clear error: {:?} {stderr}",
        output.status
    );
    eprintln!(
        "RLIMIT_FSIZE: {:?}, temp files left: {:?}",
        output.status,
        temps(&dir)
    );
    assert_eq!(stored_secret(&dir, "p").as_deref(), Some(SECRET));
    let after: BTreeMap<_, _> = snapshot(&dir)
        .into_iter()
        .filter(|(name, _)| !name.starts_with(".tmp-"))
        .collect();
    assert_eq!(after, before);

    add(&home, "q", SECRET).ok();
    assert_eq!(
        temps(&dir),
        Vec::<String>::new(),
        "a stale temp file is left"
    );
    assert_eq!(home.run(["list", "--credentials"]).ok(), "p\nq\n");
}

// ---------------------------------------------------------------------------------------
// 3. The store deleted between commands
// ---------------------------------------------------------------------------------------

#[test]
fn store_deleted_between_commands() {
    let world = World::new();
    let arn = world.caller_arn(&["readonly"]);
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");
    let store = store_dir(&world.home);
    std::fs::remove_dir_all(&store).unwrap();

    world.moto.start_recording();
    let run = world.run(&["exec", "readonly", "--", "true"]);
    assert_eq!(
        run.fails(),
        "error: profile `gds-users` did not contain credential information (it is the source of `readonly`)\n\
         hint: store its keys with `vault add gds-users`, or give it a `source_profile`\n"
    );
    assert_eq!(world.moto.sts_calls(), Vec::<String>::new());
    assert!(!store.exists(), "a failed exec made the store again");
    assert_eq!(world.run(&["clear"]).ok(), "Cleared 0 sessions.\n");
    assert_eq!(world.run(&["list", "--credentials"]).ok(), "");

    // A file where the folder was: named.
    std::fs::write(&store, "not a folder").unwrap();
    let stderr = add(&world.home, "gds-users", SECRET).fails().to_string();
    assert!(
        stderr.starts_with(&format!(
            "error: could not read `{}/vault.json`: Not a directory",
            store.display()
        )),
        "{stderr}"
    );
    std::fs::remove_file(&store).unwrap();

    // Keys added again make a new store; the next exec makes a new session.
    let jane = world.moto.user("jane");
    let mut command = world.home.command(["add", "gds-users", "--env"]);
    command
        .env("AWS_ACCESS_KEY_ID", jane["access_key_id"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            jane["secret_access_key"].as_str().unwrap(),
        );
    output(command).ok();
    world.moto.start_recording();
    let arn = world.caller_arn(&["readonly"]);
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
}

// ---------------------------------------------------------------------------------------
// 4. A config file that changes while exec runs
// ---------------------------------------------------------------------------------------

/// The config is rewritten by `mfa_process` (while vault itself runs) and by the command
/// vault runs: the run goes on with the config it read, the next run uses the new one, and
/// a config broken or deleted meanwhile is an error naming the file or the profile.
#[test]
fn config_changes_while_exec_runs() {
    let world = World::new();
    let home = world.home.path();
    let python = support::python();
    let url = format!(
        "{}/_vault_test/totp?serial={}&offset=0",
        world.moto.endpoint, world.serial
    );
    // The new config: target-account is now the partner role, with no MFA.
    let new_config = std::fs::read_to_string(home.join(".aws/config"))
        .unwrap()
        .replace(
            &format!(
                "role_arn = {}\nmfa_serial = {}\n",
                world.moto.role_arn("admin"),
                world.serial
            ),
            &format!(
                "role_arn = {}\nexternal_id = ext-123\n",
                world.moto.role_arn("partner")
            ),
        );
    world.home.write("new-config", &new_config);
    let script = world.home.write(
        "mfa.sh",
        &format!(
            "cp \"$HOME/new-config\" \"$HOME/.aws/config\"\n\
             exec {python} -c \"import urllib.request; print(urllib.request.urlopen('{url}').read().decode())\"\n"
        ),
    );
    let old_config = std::fs::read_to_string(home.join(".aws/config")).unwrap();
    world.home.config(&old_config.replace(
        &format!("mfa_serial = {}\n", world.serial),
        &format!(
            "mfa_serial = {}\nmfa_process = sh {}\n",
            world.serial,
            script.display()
        ),
    ));

    // During vault's run: the MFA code comes from a process that rewrites the config.
    world.moto.start_recording();
    let arn = world.caller_arn(&["target-account"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
    assert_eq!(
        std::fs::read_to_string(home.join(".aws/config")).unwrap(),
        new_config
    );
    assert_eq!(
        world.moto.credential_calls(),
        ["GetSessionToken", "AssumeRole"]
    );

    // The next run reads the new config: another role, not the cached admin session.
    world.moto.start_recording();
    let arn = world.caller_arn(&["target-account"]);
    assert!(arn.starts_with(&assumed("partner")), "{arn}");
    assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);

    // The command vault runs breaks the config, then deletes it.
    world
        .home
        .write("broken-config", "[profile gds-users]\n[profile readonly\n");
    let run = world.run(&[
        "exec",
        "readonly",
        "--",
        "sh",
        "-c",
        "cp broken-config .aws/config",
    ]);
    assert_eq!(run.ok(), "");
    let config = home.join(".aws/config");
    assert_eq!(
        world.run(&["exec", "readonly", "--", "true"]).fails(),
        format!(
            "error: `{}` line 2: Profile definition must end with ']'\n",
            config.display()
        )
    );
    std::fs::write(&config, &new_config).unwrap();
    world
        .run(&["exec", "readonly", "--", "rm", ".aws/config"])
        .ok();
    let stderr = world.run(&["exec", "readonly", "--", "true"]);
    assert!(
        stderr
            .fails()
            .starts_with("error: profile `readonly` not found\nhint: "),
        "{stderr:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 5. STS unreachable, silent, or answering nonsense
// ---------------------------------------------------------------------------------------

fn assert_nothing_cached(home: &Home, before: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(&snapshot(&store_dir(home)), before, "the store changed");
    assert_eq!(home.run(["list", "--sessions"]).ok(), "");
}

#[test]
fn sts_unreachable() {
    let mut home = offline_home();
    let before = snapshot(&store_dir(&home));
    let endpoint = closed_endpoint();
    home.env("AWS_ENDPOINT_URL", &endpoint);
    let started = Instant::now();
    let run = home.run(["exec", "readonly", "--", "true"]);
    let took = started.elapsed();
    eprintln!("unreachable STS: failed after {took:?}");
    let stderr = run.fails();
    assert!(
        stderr.starts_with(&format!(
            "error: could not reach STS at `{endpoint}`: dispatch failure: "
        )) && stderr.contains("Connection refused (os error 111)\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "\nhint: check the network, and AWS_ENDPOINT_URL or `endpoint_url` if set\n"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("DispatchFailure {"),
        "Debug dump: {stderr}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_nothing_cached(&home, &before);
}

/// A server that accepts and never answers: vault gives up after its attempt timeout
/// (`AWS_VAULT_STS_TIMEOUT`, 20 s by default) times its 3 attempts.
#[test]
fn sts_never_answers() {
    let mut home = offline_home();
    let before = snapshot(&store_dir(&home));
    let silent = FakeSts::start(None);
    home.env("AWS_ENDPOINT_URL", &silent.endpoint)
        .env("AWS_VAULT_STS_TIMEOUT", "1s");
    let started = Instant::now();
    let run = home.run(["exec", "readonly", "--", "true"]);
    let took = started.elapsed();
    eprintln!(
        "silent STS: failed after {took:?}, {} connections",
        silent.connections()
    );
    assert_eq!(
        run.fails(),
        format!(
            "error: could not reach STS at `{}`: request has timed out: operation attempt timeout (single attempt) occurred after 1s\n\
             hint: check the network, and AWS_ENDPOINT_URL or `endpoint_url` if set\n",
            silent.endpoint
        )
    );
    assert_eq!(silent.connections(), 3, "one connection an attempt");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(15),
        "{took:?}"
    );
    assert_nothing_cached(&home, &before);

    home.env("AWS_VAULT_STS_TIMEOUT", "soon");
    let stderr = home.run(["exec", "readonly", "--", "true"]);
    assert!(
        stderr
            .fails()
            .starts_with("error: `AWS_VAULT_STS_TIMEOUT`: `soon` is not a duration"),
        "{stderr:?}"
    );
}

/// HTTP 200 with a body that is not STS XML (not retried), and HTTP 500 with an HTML page
/// (retried, 3 attempts): an error naming the endpoint and what came back, never the body.
#[test]
fn sts_answers_nonsense() {
    let mut home = offline_home();
    let before = snapshot(&store_dir(&home));
    let hint = "hint: something other than STS may be answering there: check AWS_ENDPOINT_URL or `endpoint_url` if set, and any proxy; if it is STS, try again later\n";

    let body = "MARKER-not-xml {\"SecretAccessKey\": \"MARKER\"}";
    let garbage = FakeSts::start(Some(http_response("200 OK", "text/plain", body)));
    home.env("AWS_ENDPOINT_URL", &garbage.endpoint);
    let run = home.run(["exec", "readonly", "--", "true"]);
    let stderr = run.fails();
    assert!(
        stderr.starts_with(&format!(
            "error: STS at `{}` sent a response vault cannot read: HTTP 200 (text/plain): ",
            garbage.endpoint
        )) && stderr.ends_with(&format!("\n{hint}")),
        "{stderr}"
    );
    assert!(!stderr.contains("MARKER"), "the body was printed: {stderr}");
    assert_eq!(garbage.connections(), 1);
    drop(garbage);

    let page = "<html><body>MARKER Internal Server Error</body></html>";
    let failing = FakeSts::start(Some(http_response(
        "500 Internal Server Error",
        "text/html",
        page,
    )));
    home.env("AWS_ENDPOINT_URL", &failing.endpoint);
    let run = home.run(["exec", "readonly", "--", "true"]);
    assert_eq!(
        run.fails(),
        format!(
            "error: STS at `{}` sent a response vault cannot read: HTTP 500 (text/html)\n{hint}",
            failing.endpoint
        )
    );
    assert_eq!(failing.connections(), 3, "a 500 is retried");
    assert_nothing_cached(&home, &before);
}

// ---------------------------------------------------------------------------------------
// 6. The clock past a cached session's expiry
// ---------------------------------------------------------------------------------------

/// `vault ARGS` with its clock moved by `offset` (libfaketime). The command vault runs gets
/// the real clock back (it unsets the preload), so that the AWS CLI signs with real time.
fn faked(world: &World, offset: &str, args: &[&str]) -> Run {
    let mut command = world.home.wrapped(&["faketime", offset], args);
    command.env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let output = command.output().unwrap_or_else(|e| {
        panic!("could not run faketime (run scripts/setup, which installs it): {e}")
    });
    Run::from(output)
}

const REAL_CLOCK_CALLER: &str = "unset LD_PRELOAD FAKETIME; echo $AWS_ACCESS_KEY_ID; exec aws sts get-caller-identity --query Arn --output text";

/// With the clock 2 hours on, the 1-hour role session is expired and made again, while the
/// 8-hour MFA session under it is still good (so no MFA code is needed: there is no terminal
/// and no token here). 30 minutes on, the warm cache is used.
#[test]
fn clock_past_session_expiry() {
    let world = World::new();
    let warm = world.run(&[
        "exec",
        "-t",
        &world.code(0),
        "target-account",
        "--",
        "sh",
        "-c",
        REAL_CLOCK_CALLER,
    ]);
    let warm = warm.ok().to_string();
    let warm_key = warm.lines().next().unwrap().to_string();

    world.moto.start_recording();
    let later = faked(
        &world,
        "+30 minutes",
        &[
            "exec",
            "target-account",
            "--",
            "sh",
            "-c",
            REAL_CLOCK_CALLER,
        ],
    );
    assert_eq!(
        later.ok(),
        warm,
        "30 minutes on, the cached session is used"
    );
    assert_eq!(world.moto.credential_calls(), Vec::<String>::new());

    let expired = faked(
        &world,
        "+2 hours",
        &[
            "exec",
            "target-account",
            "--",
            "sh",
            "-c",
            REAL_CLOCK_CALLER,
        ],
    );
    let out = expired.ok();
    let (key, arn) = out.split_once('\n').unwrap();
    assert!(key.starts_with("ASIA") && key != warm_key, "{out}");
    assert!(arn.starts_with(&assumed("admin")), "{out}");
    assert_eq!(
        world.moto.credential_calls(),
        ["AssumeRole"],
        "only the expired role session is made again"
    );
}

/// `AWS_MIN_TTL` longer than a session's life: the 1-hour role session is never fresh
/// enough and is made on each run, from the cached 8-hour MFA session.
#[test]
fn min_ttl_longer_than_the_session() {
    let mut world = World::new();
    let arn = world.caller_arn(&["-t", &world.code(0), "target-account"]);
    assert!(arn.starts_with(&assumed("admin")), "{arn}");
    world.home.env("AWS_MIN_TTL", "2h");
    for _ in 0..2 {
        world.moto.start_recording();
        let arn = world.caller_arn(&["target-account"]);
        assert!(arn.starts_with(&assumed("admin")), "{arn}");
        assert_eq!(world.moto.credential_calls(), ["AssumeRole"]);
    }
}

// ---------------------------------------------------------------------------------------
// 7. SIGKILL during a session refresh
// ---------------------------------------------------------------------------------------

#[test]
fn sigkill_during_session_refresh() {
    let world = World::new();
    let store = store_dir(&world.home);

    // Killed while waiting for STS, holding the session's lock.
    let silent = FakeSts::start(None);
    let mut command = world.home.command(["exec", "readonly", "--", "true"]);
    command
        .env("AWS_ENDPOINT_URL", &silent.endpoint)
        .env("AWS_VAULT_STS_TIMEOUT", "30s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while silent.connections() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "vault never called STS"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    drop(silent);
    let started = Instant::now();
    let arn = world.caller_arn(&["readonly"]);
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the dead vault's lock held up the next: {:?}",
        started.elapsed()
    );

    // Killed at points spread over refreshes against the real STS (AWS_MIN_TTL makes every
    // run a refresh: unlock, STS call, write, index, cleanup).
    for round in 0..12u64 {
        let mut command = world.home.command(["exec", "readonly", "--", "true"]);
        command
            .env("AWS_MIN_TTL", "2h")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(round * 37 % 400));
        let _ = child.kill();
        child.wait().unwrap();
        assert_eq!(
            world.run(&["list", "--credentials"]).ok(),
            "gds-users\n",
            "round {round}"
        );
    }
    let started = Instant::now();
    let mut command = world.home.command(["exec", "readonly", "--"]);
    command.args(CALLER_ARN).env("AWS_MIN_TTL", "2h");
    let arn = output(command).ok().trim().to_string();
    assert!(arn.starts_with(&assumed("readonly")), "{arn}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(temps(&store), Vec::<String>::new(), "temp files left");
    let sessions = world.run(&["list", "--sessions"]);
    assert!(sessions.ok().starts_with("sts.AssumeRole:"), "{sessions:?}");
}
