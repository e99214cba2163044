//! The images the managers run, built here (no registry is reachable): a busybox image from
//! Debian's busybox-static, made into an OCI image layout with umoci, and copied by skopeo
//! into whatever a manager imports (its own store, a docker archive, an OCI archive).

use crate::run::run;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The image's name inside the layout (`oci:<layout>:busybox`).
pub const BUSYBOX_TAG: &str = "busybox";

/// An OCI layout on disk and the ref name of its one image.
pub struct Layout {
    pub dir: PathBuf,
    pub tag: &'static str,
}

impl Layout {
    /// The skopeo/podman transport name of the image: `oci:<dir>:<tag>`.
    pub fn reference(&self) -> String {
        format!("oci:{}:{}", self.dir.display(), self.tag)
    }

    /// Copies the image to a skopeo destination (`docker-archive:FILE:name`, ...).
    pub fn copy_to(&self, dest: &str) {
        run(Command::new("skopeo").args(["copy", "--quiet", &self.reference(), dest]))
            .ok(&format!("skopeo copy to {dest}"));
    }
}

fn umoci(args: &[&str]) {
    run(Command::new("umoci").args(args)).ok(&format!("umoci {args:?}"));
}

/// The root filesystem: busybox with its applets in /bin, the directories a container
/// needs, and a passwd/group with root, a user `tester` (1000) and nobody.
fn fill_rootfs(rootfs: &Path) {
    for d in [
        "bin",
        "dev",
        "proc",
        "sys",
        "etc",
        "root",
        "home/tester",
        "var",
        "run",
    ] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::create_dir_all(rootfs.join("tmp")).unwrap();
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let list = run(Command::new("/bin/busybox").arg("--list")).ok("busybox --list");
    for applet in list.lines().filter(|a| *a != "busybox") {
        symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n",
    )
    .unwrap();
    std::os::unix::fs::chown(rootfs.join("home/tester"), Some(1000), Some(1000)).unwrap();
}

/// The busybox image, built once into `work` (atomically: a half-built layout is never used).
pub fn busybox(work: &Path) -> Layout {
    let dir = work.join("busybox-oci");
    if !dir.join("index.json").exists() {
        let tmp = work.join("busybox-oci.tmp");
        let bundle = work.join("busybox-bundle.tmp");
        let _ = fs::remove_dir_all(&tmp);
        let _ = fs::remove_dir_all(&bundle);
        let image = format!("{}:{BUSYBOX_TAG}", tmp.display());
        umoci(&["init", "--layout", tmp.to_str().unwrap()]);
        umoci(&["new", "--image", &image]);
        umoci(&["unpack", "--image", &image, bundle.to_str().unwrap()]);
        fill_rootfs(&bundle.join("rootfs"));
        umoci(&["repack", "--image", &image, bundle.to_str().unwrap()]);
        umoci(&[
            "config",
            "--image",
            &image,
            "--config.cmd",
            "sh",
            "--config.env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--config.workingdir",
            "/",
        ]);
        umoci(&["gc", "--layout", tmp.to_str().unwrap()]);
        fs::remove_dir_all(&bundle).unwrap();
        fs::rename(&tmp, &dir).unwrap();
    }
    Layout {
        dir,
        tag: BUSYBOX_TAG,
    }
}
