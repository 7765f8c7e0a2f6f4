//! A throwaway desktop session for tests: `vault` run as steps of one shell script inside
//! `dbus-run-session` (with gnome-keyring's Secret Service, or a bare bus) and, for keyctl,
//! `keyctl session -`; then a check that nothing the session started is still running.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Home, Run};

/// What the script's session has on D-Bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// No session bus: DBUS_SESSION_BUS_ADDRESS is not set.
    Absent,
    /// A private session bus (`dbus-run-session`) on which nothing owns the Secret Service.
    Bare,
    /// A private session bus with gnome-keyring's Secret Service, its `login` collection
    /// (the default one) created by `--unlock` and unlocked.
    Keyring,
}

/// Shell functions for the steps: `has_owner NAME` prints `true` or `false` for the session
/// bus (NameHasOwner never activates a service); `ours COMM` counts the live processes of
/// that name whose HOME is this test's HOME (so tests running in parallel do not count each
/// other's daemons, and zombies, whose environment is gone, do not count).
const FUNCTIONS: &str = r#"
has_owner() {
    dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$1" | sed -n 's/^ *boolean //p'
}
ours() {
    n=0
    for p in $(pgrep -x "$1"); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qxF "HOME=$HOME"; then n=$((n + 1)); fi
    done
    echo "$n"
}
"#;

/// Starts gnome-keyring's Secret Service in the foreground, as a child of this shell, so
/// that the shell can stop it and reap it; the password on stdin creates and unlocks the
/// `login` collection. Then waits until the name is owned and the default collection is
/// unlocked. The name is asked about first, on org.freedesktop.DBus: a call to
/// org.freedesktop.secrets before it is owned would have the bus activate a second daemon.
const START_KEYRING: &str = r#"
printf %s testpw | gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$OUT/gnome-keyring.log" 2>&1 &
GK=$!
trap 'kill "$GK" 2>/dev/null; wait "$GK" 2>/dev/null' EXIT
n=0
until [ "$(has_owner org.freedesktop.secrets)" = true ] &&
    dbus-send --session --print-reply=literal --dest=org.freedesktop.secrets \
        /org/freedesktop/secrets/aliases/default org.freedesktop.DBus.Properties.Get \
        string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q 'boolean false'
do
    n=$((n + 1))
    if [ "$n" -ge 250 ] || ! kill -0 "$GK" 2>/dev/null; then
        echo "gnome-keyring-daemon did not come up:" >&2
        cat "$OUT/gnome-keyring.log" >&2
        exit 97
    fi
    sleep 0.02
done
"#;

/// Runs `steps` (shell snippets; `$VAULT` is the binary, `$FULL` vault-full) one after
/// another in one session:
/// on the given bus, and with `keyctl`, in a fresh kernel session keyring. Returns what each
/// step printed and its exit status. The environment is the scrubbed one of
/// `Home::command` (HOME, PATH, XDG_* in the temp HOME, the test's variables), plus
/// XDG_RUNTIME_DIR in the temp HOME. Step outputs are kept outside HOME, so that HOME can
/// be searched for secrets afterwards. Asserts that no process of the session outlives it.
pub fn session<I, S>(home: &Home, bus: Bus, keyctl: bool, steps: I) -> Vec<Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let out = tempfile::Builder::new()
        .prefix("vault-keychain-out-")
        .tempdir()
        .unwrap();
    let runtime = home.path().join("run");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&runtime)
        .unwrap();

    let mut script = String::from(FUNCTIONS);
    if bus == Bus::Keyring {
        script.push_str(START_KEYRING);
    }
    let mut count = 0;
    for (i, step) in steps.into_iter().enumerate() {
        script.push_str(&format!(
            "{{\n{}\n}} >\"$OUT/{i}.out\" 2>\"$OUT/{i}.err\" </dev/null\necho $? >\"$OUT/{i}.rc\"\n",
            step.as_ref()
        ));
        count += 1;
    }
    script.push_str("exit 0\n");

    // A safety net: a hung step must not hang the test run; timeout signals its whole
    // process group.
    let mut command = Command::new("timeout");
    command.args(["-k", "5", "60"]);
    if keyctl {
        command.args(["keyctl", "session", "-"]);
    }
    if bus != Bus::Absent {
        command.args(["dbus-run-session", "--"]);
    }
    command.args(["sh", "-c", &script]);
    let template = home.command(std::iter::empty::<&str>());
    command.env_clear().current_dir(home.path());
    for (key, value) in template.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("OUT", out.path())
        .env("VAULT", env!("CARGO_BIN_EXE_vault"))
        .env("FULL", env!("CARGO_BIN_EXE_vault-full"))
        .stdin(Stdio::null());

    let started = Instant::now();
    let outer = Run::from(command.output().unwrap());
    let took = started.elapsed();
    assert_eq!(
        outer.status,
        Some(0),
        "the session failed after {took:?}: {outer:#?}\nscript:\n{script}"
    );

    let runs: Vec<Run> = (0..count)
        .map(|i| {
            let read = |ext: &str| {
                std::fs::read_to_string(out.path().join(format!("{i}.{ext}")))
                    .unwrap_or_else(|e| panic!("step {i} left no .{ext} ({e}): {outer:#?}"))
            };
            Run {
                status: read("rc").trim().parse().ok(),
                stdout: read("out"),
                stderr: read("err"),
            }
        })
        .collect();
    assert_no_processes_left(home);
    runs
}

/// Live processes whose environment has this HOME: everything a session started (the shell,
/// dbus-daemon, gnome-keyring-daemon, vault, and anything the bus activated).
pub fn processes_of(home: &Path) -> Vec<String> {
    let mut marker = b"HOME=".to_vec();
    marker.extend_from_slice(home.as_os_str().as_encoded_bytes());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name();
        let Some(pid) = pid
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `PID (COMM) STATE ...`; COMM may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let (comm, state) = (&stat[open + 1..close], stat[close + 1..].trim_start());
        if state.starts_with('Z') || state.starts_with('X') {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var == marker.as_slice())
        {
            found.push(format!("{pid} {comm}"));
        }
    }
    found
}

/// Nothing the session started is still running (dbus-run-session signals its bus as it
/// exits but does not wait for it, so allow a moment).
#[track_caller]
pub fn assert_no_processes_left(home: &Home) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of(home.path());
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the session are still running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Regular files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                if bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
                {
                    found.push(path);
                }
            }
        }
    }
    found
}
