//! Links `vault`, the warm-path program, statically on Linux with glibc, where the C
//! toolchain can; `vault-full`, the tests and the library's other users stay as they are.
//!
//! Why: a static `vault` has no dynamic loader to run before it starts, and that was most
//! of what stood between a warm `vault exec` and the least any exec wrapper can cost
//! (docs/performance.md). Why not `-C target-feature=+crt-static`: Cargo cannot give it to
//! one binary of a package; in the Cargo config it also reaches the proc-macro crates
//! (rust-lang/rust#78210) unless a `--target` is given.
//!
//! How: rustc links a glibc program with `-Wl,-Bdynamic -lgcc_s -lutil -lrt -lpthread -lm
//! -ldl -lc`. For `vault` alone this adds `-static-pie` and a folder in which each of those
//! names is a linker script naming glibc's static archive (`libgcc_s` names libgcc's
//! static unwinder, `libgcc_eh`). That is what `crt-static` itself links.
//!
//! When not: another target, a cross build, `VAULT_LINK=dynamic`, or a toolchain without
//! the static archives (Fedora's glibc-static, say, not installed). A probe program linked
//! the same way must run and print before `vault` is linked so; if anything is missing,
//! `vault` is linked dynamically, with a warning that says why. The build never fails for
//! it.
//!
//! It also records the build's facts for `vault --version --verbose` (`VAULT_GIT_COMMIT`,
//! `VAULT_BUILD_DATE`, `VAULT_LINKED`): the commit from git, "unknown" outside a git checkout
//! (a packaged source); the date from `SOURCE_DATE_EPOCH` when set (reproducible builds),
//! else the time of the build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libraries rustc names for a glibc program after `gcc_s`, in its order: the archive
/// each stands for, and whether it must exist (glibc 2.34 and later keep util, rt, pthread
/// and dl only as empty archives).
const LIBRARIES: &[(&str, &str, bool)] = &[
    ("util", "libutil.a", false),
    ("rt", "librt.a", false),
    ("pthread", "libpthread.a", false),
    ("m", "libm.a", true),
    ("dl", "libdl.a", false),
    ("c", "libc.a", true),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=VAULT_LINK");
    let linked = match static_link() {
        Ok(folder) => {
            println!("cargo:rustc-link-arg-bin=vault=-static-pie");
            println!("cargo:rustc-link-arg-bin=vault=-L{}", folder.display());
            "static"
        }
        Err(Why::NotHere) => "dynamic",
        Err(Why::Cannot(why)) => {
            println!("cargo:warning=vault is linked dynamically: {why}");
            "dynamic"
        }
    };
    // tests/warm.rs checks the binary against this.
    println!("cargo:rustc-env=VAULT_LINKED={linked}");
    println!("cargo:rustc-env=VAULT_GIT_COMMIT={}", git_commit());
    println!("cargo:rustc-env=VAULT_BUILD_DATE={}", build_date());
}

/// The commit built, or "unknown" outside a git checkout. Asks to run again when HEAD or the
/// branch it names moves (a worktree's HEAD and the shared refs live in different folders).
fn git_commit() -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
    };
    // A source unpacked inside another repository (a distribution's packaging, say) is not
    // that repository's commit.
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let top = git(&["rev-parse", "--show-toplevel"]);
    if top.is_none_or(|top| fs::canonicalize(top).ok() != fs::canonicalize(&manifest).ok()) {
        return "unknown".to_owned();
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".to_owned();
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let head = Path::new(&dir).join("HEAD");
        if head.is_file() {
            println!("cargo:rerun-if-changed={}", head.display());
        }
    }
    if let (Some(common), Some(branch)) = (
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        // A packed ref has no file of its own; packed-refs changes when it moves.
        for file in [
            Path::new(&common).join(&branch),
            Path::new(&common).join("packed-refs"),
        ] {
            if file.is_file() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    commit
}

/// The build's date, UTC, as `YYYY-MM-DD HH:MM:SS UTC`: `SOURCE_DATE_EPOCH` when set.
fn build_date() -> String {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let seconds = match env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => match epoch.trim().parse::<i64>() {
            Ok(seconds) => seconds,
            Err(_) => {
                println!(
                    "cargo:warning=SOURCE_DATE_EPOCH={epoch:?} is not a number of seconds: ignored"
                );
                now()
            }
        },
        Err(_) => now(),
    };
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

enum Why {
    /// Not a target this applies to, or asked not to: nothing to say.
    NotHere,
    /// It applies, and the toolchain cannot do it.
    Cannot(String),
}

fn static_link() -> Result<PathBuf, Why> {
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("TARGET") != var("HOST")
        || var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
    {
        return Err(Why::NotHere);
    }
    match var("VAULT_LINK").as_str() {
        "" | "static" => {}
        "dynamic" => return Err(Why::NotHere),
        other => {
            return Err(Why::Cannot(format!(
                "VAULT_LINK={other:?} is not \"static\" or \"dynamic\""
            )));
        }
    }
    let cc = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let folder = PathBuf::from(var("OUT_DIR")).join("static-libs");
    fs::create_dir_all(&folder).map_err(|e| Why::Cannot(format!("{}: {e}", folder.display())))?;

    let unwinder = [archive(&cc, "libgcc_eh.a"), archive(&cc, "libgcc.a")];
    let [Some(eh), Some(gcc)] = unwinder else {
        return Err(Why::Cannot(format!(
            "{cc} finds no libgcc_eh.a or libgcc.a"
        )));
    };
    script(&folder, "gcc_s", &[eh.clone(), gcc.clone()])?;
    for &(name, file, needed) in LIBRARIES {
        match archive(&cc, file) {
            // libc calls into libgcc (soft-float helpers, the unwinder), and a linker that
            // reads each archive once in order needs them in one group.
            Some(path) if name == "c" => script(&folder, name, &[path, gcc.clone(), eh.clone()])?,
            Some(path) => script(&folder, name, &[path])?,
            None if needed => {
                return Err(Why::Cannot(format!(
                    "{cc} finds no {file} (glibc's static libraries)"
                )));
            }
            None => {}
        }
    }
    probe(&cc, &folder)?;
    Ok(folder)
}

/// Where the C compiler finds `file`, if it does.
fn archive(cc: &str, file: &str) -> Option<PathBuf> {
    let out = Command::new(cc)
        .arg(format!("-print-file-name={file}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Not found, it prints the name back as given.
    (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}

/// `lib<name>.so` in `folder`, a linker script that names `archives` as one group: found
/// before the system's shared library when `-l<name>` is searched in dynamic mode.
fn script(folder: &Path, name: &str, archives: &[PathBuf]) -> Result<(), Why> {
    let mut text = String::from("GROUP(");
    for archive in archives {
        let path = archive.to_str().filter(|p| !p.contains([' ', ')', '"']));
        let path = path.ok_or_else(|| {
            Why::Cannot(format!(
                "{}: a path a linker script cannot name",
                archive.display()
            ))
        })?;
        text.push_str(path);
        text.push(' ');
    }
    text.push_str(")\n");
    let file = folder.join(format!("lib{name}.so"));
    fs::write(&file, text).map_err(|e| Why::Cannot(format!("{}: {e}", file.display())))
}

/// Links a small C program as `vault` will be linked, and runs it: it must print.
fn probe(cc: &str, folder: &Path) -> Result<(), Why> {
    let source = folder.join("probe.c");
    let program = folder.join("probe");
    fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { return puts(\"static\") < 0; }\n",
    )
    .map_err(|e| Why::Cannot(format!("{}: {e}", source.display())))?;
    let linked = Command::new(cc)
        .arg("-static-pie")
        .arg("-nodefaultlibs")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .args(["-Wl,--as-needed", "-Wl,-Bdynamic", "-lgcc_s"])
        .args(LIBRARIES.iter().map(|(name, _, _)| format!("-l{name}")))
        .arg(format!("-L{}", folder.display()))
        .output()
        .map_err(|e| Why::Cannot(format!("{cc}: {e}")))?;
    if !linked.status.success() {
        let why = String::from_utf8_lossy(&linked.stderr);
        let why = why
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or("it failed");
        return Err(Why::Cannot(format!(
            "a static probe did not link: {}",
            why.trim()
        )));
    }
    let ran = Command::new(&program).output();
    match ran {
        Ok(out) if out.status.success() && out.stdout == b"static\n" => Ok(()),
        _ => Err(Why::Cannot("a static probe did not run".to_owned())),
    }
}
