//! Build facts for `berth --version` (as `runc --version` prints its commit, Go and
//! libseccomp versions): the git commit, the compiler, and the seccomp implementation's
//! version from Cargo.lock. Each falls back to "unknown" outside a git checkout.

use std::path::Path;
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    let commit = output("git", &["describe", "--long", "--always", "--dirty"]);
    if let Some(dir) = output("git", &["rev-parse", "--git-dir"]) {
        // A new commit moves HEAD's reflog; a checkout moves HEAD.
        for f in ["HEAD", "logs/HEAD"] {
            let p = Path::new(&dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=Cargo.lock");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = output(&rustc, &["--version"]);
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let seccompiler = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"seccompiler\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string());
    for (key, value) in [
        ("BERTH_COMMIT", commit),
        ("BERTH_RUSTC", rustc),
        ("BERTH_SECCOMPILER", seccompiler),
    ] {
        println!(
            "cargo:rustc-env={key}={}",
            value.as_deref().unwrap_or("unknown")
        );
    }
}
