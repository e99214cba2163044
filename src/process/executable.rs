//! `process.args[0]` resolved the way execvp does, with runc's (Go's) error words.

use anyhow::{anyhow, bail, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// glibc's execvp search list when PATH is unset (confstr(_CS_PATH)).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// An OS error in Go's words ("no such file or directory"), which docker and containerd
/// match in runc's messages to choose exit codes 126 and 127.
pub fn go_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

/// Why `path` cannot be executed, or Ok. Checks the effective ids, so call it after the uid
/// switch; X_OK also fails on a noexec mount.
fn check_executable(path: &Path, shown: &str) -> std::result::Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("stat {shown}: {}", go_error_text(&e)))?;
    // execve's EACCES, in runc 1.1's words: podman 4.3 shows "permission denied" as exit
    // code 126, where runc 1.5's "is a directory" makes its exec exit 255.
    if meta.is_dir() {
        return Err("permission denied".into());
    }
    // Any other file goes by its execute permission, as in runc (a device without x bits is
    // "permission denied"); execve refuses the rest once the process is started.
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| "contains a NUL byte")?;
    executable_by_effective_ids(&c).map_err(|e| e.desc().to_lowercase())
}

/// access(X_OK) for the effective ids as Go's unix.Eaccess does it: faccessat2 with
/// AT_EACCESS, and where a kernel or a seccomp profile lacks faccessat2 (ENOSYS, EPERM; it
/// may run after the container's filter is loaded) plain faccessat, which checks the real
/// ids: the same ones once the process has switched to its user.
fn executable_by_effective_ids(path: &CString) -> nix::Result<()> {
    use nix::errno::Errno;
    // SAFETY: faccessat2 reads the NUL-terminated path, alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    match Errno::result(r) {
        Err(Errno::ENOSYS | Errno::EPERM) => {}
        r => return r.map(drop),
    }
    // SAFETY: as above.
    let r = unsafe {
        libc::syscall(
            libc::SYS_faccessat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::X_OK,
        )
    };
    Errno::result(r).map(drop)
}

fn to_cstring(p: PathBuf) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| anyhow!("exec: {:?}: contains a NUL byte", p.display().to_string()))
}

/// Resolves `process.args[0]` with execvp's rules, with runc's error messages: a name
/// containing '/' is used as is (relative to `cwd`); otherwise each PATH entry of the
/// process env is tried (empty entries mean `cwd`; no PATH means glibc's default, where
/// runc would fail). The result must be a regular file the process may execute.
pub fn find_executable(arg0: &str, env: &[String], cwd: &Path) -> Result<CString> {
    if arg0.contains('/') {
        let path = cwd.join(arg0);
        check_executable(&path, arg0).map_err(|e| anyhow!("exec: {arg0:?}: {e}"))?;
        return to_cstring(path);
    }
    if !arg0.is_empty() {
        let path_var = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        for dir in path_var.split(':') {
            let candidate = cwd.join(dir).join(arg0);
            if check_executable(&candidate, arg0).is_ok() {
                return to_cstring(candidate);
            }
        }
    }
    bail!("exec: {arg0:?}: executable file not found in $PATH")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::test_child;

    fn make_exe(dir: &Path, name: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn find_executable_like_execvp() {
        let tmp = std::env::temp_dir().join(format!("berth-findexe-{}", std::process::id()));
        let (a, b) = (tmp.join("a"), tmp.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::create_dir_all(b.join("adir")).unwrap();
        make_exe(&a, "plain", 0o644);
        let in_b = make_exe(&b, "plain", 0o755);
        let tool = make_exe(&a, "tool", 0o755);
        let env = |path: &str| vec!["X=1".to_string(), format!("PATH={path}")];
        let found = |name: &str, env: &[String]| {
            find_executable(name, env, &tmp).map(|c| c.into_string().unwrap())
        };
        let s = |p: &Path| p.to_str().unwrap().to_string();

        // Not executable in a: found in b. A directory of that name is skipped.
        assert_eq!(found("plain", &env("/nonexistent:a:b")).unwrap(), s(&in_b));
        assert!(found("adir", &env("b")).is_err());
        // Relative names with a slash are relative to cwd; absolute ones used as is.
        assert_eq!(found("a/tool", &env("")).unwrap(), s(&tool));
        assert_eq!(found(&s(&tool), &env("")).unwrap(), s(&tool));
        // An empty PATH entry means cwd.
        assert_eq!(
            found("tool", &env("/x::")).unwrap_err().to_string(),
            "exec: \"tool\": executable file not found in $PATH"
        );
        std::fs::copy(&tool, tmp.join("here")).unwrap();
        assert_eq!(found("here", &env("/x::")).unwrap(), s(&tmp.join("here")));
        // Without PATH, glibc's default list.
        assert_eq!(found("sh", &["A=b".to_string()]).unwrap(), "/bin/sh");
        assert_eq!(
            found("nope", &env("a:b")).unwrap_err().to_string(),
            "exec: \"nope\": executable file not found in $PATH"
        );
        assert_eq!(
            found("./nope", &env("a")).unwrap_err().to_string(),
            "exec: \"./nope\": stat ./nope: no such file or directory"
        );
        assert_eq!(
            found("b/adir", &env("a")).unwrap_err().to_string(),
            "exec: \"b/adir\": permission denied"
        );
        // Not a regular file, no execute bit: refused by access(2) as in runc.
        assert_eq!(
            found("/dev/null", &env("a")).unwrap_err().to_string(),
            "exec: \"/dev/null\": permission denied"
        );
        assert_eq!(
            found("", &env("a")).unwrap_err().to_string(),
            "exec: \"\": executable file not found in $PATH"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn find_executable_checks_as_the_switched_user() {
        let tmp = std::env::temp_dir().join(format!("berth-findexe-user-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let owner_only = make_exe(&tmp, "owner-only", 0o700);
        let dir = tmp.clone();
        test_child::run(move || {
            nix::unistd::setresuid(1000.into(), 1000.into(), 1000.into())?;
            let err = find_executable(owner_only.to_str().unwrap(), &[], &dir)
                .unwrap_err()
                .to_string();
            anyhow::ensure!(err.ends_with(": permission denied"), "{err}");
            Ok(())
        });
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
