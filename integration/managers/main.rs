//! Container managers driving berth: podman (as root and rootless), containerd (through the
//! runc v2 shim, as Kubernetes' containerd calls its runtime) and docker, from Debian's apt,
//! each in a private store this run creates and removes. Every scenario runs under Debian's
//! runc and under berth and compares what the manager shows its user; after each, nothing of
//! it may remain on the host (`leaks`).
//!
//! A runner of its own (harness = false): the daemons (one containerd, one dockerd) are started
//! once, on the main thread, before the groups and stopped after them on every path; the four
//! groups run in parallel threads, the scenarios of a group one after another. Arguments that
//! do not start with '-' filter scenarios by substring of `group::name`.

mod compare;
mod containerd;
mod docker;
mod images;
mod leaks;
mod podman;
mod rootless;
mod run;
mod services;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// A scenario: its name and the function that runs it in its group's environment.
pub type Scenario<E> = (&'static str, fn(&E));

/// What the run shares with every group.
pub struct Shared {
    /// This run's private directory (stores, daemons' state); removed at the end.
    pub work: PathBuf,
    /// The busybox image.
    pub busybox: images::Layout,
}

#[derive(Default)]
struct Tally {
    passed: Vec<String>,
    failed: Vec<String>,
    skipped: Vec<String>,
}

fn selected(filters: &[String], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// Runs a group's selected scenarios in the environment `setup` makes; a setup that fails
/// skips them, each reported with the reason.
fn run_group<E>(
    group: &str,
    scenarios: &[Scenario<E>],
    filters: &[String],
    tally: &Mutex<Tally>,
    setup: impl FnOnce() -> Result<E, String>,
) {
    let chosen: Vec<&Scenario<E>> = scenarios
        .iter()
        .filter(|(n, _)| selected(filters, &format!("{group}::{n}")))
        .collect();
    if chosen.is_empty() {
        return;
    }
    let env = match catch_unwind(AssertUnwindSafe(setup)) {
        Ok(Ok(env)) => env,
        Ok(Err(why)) => {
            for (name, _) in chosen {
                println!("test {group}::{name} ... SKIPPED: {why}");
                tally
                    .lock()
                    .unwrap()
                    .skipped
                    .push(format!("{group}::{name}: {why}"));
            }
            return;
        }
        Err(_) => {
            for (name, _) in chosen {
                println!("test {group}::{name} ... FAILED (the group's setup panicked)");
                tally
                    .lock()
                    .unwrap()
                    .failed
                    .push(format!("{group}::{name}"));
            }
            return;
        }
    };
    for (name, f) in chosen {
        let full = format!("{group}::{name}");
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| f(&env)));
        let secs = started.elapsed().as_secs_f64();
        let mut t = tally.lock().unwrap();
        if result.is_ok() {
            println!("test {full} ... ok ({secs:.1} s)");
            t.passed.push(full);
        } else {
            println!("test {full} ... FAILED ({secs:.1} s)");
            t.failed.push(full);
        }
    }
}

fn any_selected<E>(group: &str, scenarios: &[Scenario<E>], filters: &[String]) -> bool {
    scenarios
        .iter()
        .any(|(n, _)| selected(filters, &format!("{group}::{n}")))
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    assert!(
        nix::unistd::geteuid().is_root(),
        "the manager tests run as root (make test)"
    );
    let started = Instant::now();
    let work = PathBuf::from(format!("/var/tmp/berth-managers.{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/.work/managers");
    std::fs::create_dir_all(&cache).unwrap();
    let shared = Shared {
        work: work.clone(),
        busybox: images::busybox(&cache),
    };
    let tally = Mutex::new(Tally::default());

    // Daemons first, from this thread (see services.rs).
    let want_containerd = any_selected("containerd", containerd::SCENARIOS, &filters);
    let want_docker = any_selected("docker", docker::SCENARIOS, &filters);
    let containerd_daemon =
        (want_containerd || want_docker).then(|| containerd::start_daemon(&shared));
    let docker_daemon = match (&containerd_daemon, want_docker) {
        (Some(Ok(c)), true) => Some(docker::start_daemon(&shared, c)),
        (Some(Err(why)), true) => Some(Err(format!("containerd did not start: {why}"))),
        _ => None,
    };

    let podman_scenarios = [podman::lifecycle::SCENARIOS, podman::options::SCENARIOS].concat();
    std::thread::scope(|s| {
        s.spawn(|| {
            run_group("podman", &podman_scenarios, &filters, &tally, || {
                podman::setup(&shared)
            })
        });
        s.spawn(|| {
            run_group("rootless", rootless::SCENARIOS, &filters, &tally, || {
                rootless::setup(&shared)
            })
        });
        s.spawn(|| {
            run_group(
                "containerd",
                containerd::SCENARIOS,
                &filters,
                &tally,
                || match &containerd_daemon {
                    Some(Ok(d)) => containerd::setup(&shared, d),
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("not started".into()),
                },
            )
        });
        s.spawn(|| {
            run_group(
                "docker",
                docker::SCENARIOS,
                &filters,
                &tally,
                || match &docker_daemon {
                    Some(Ok(d)) => docker::setup(&shared, d),
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("not started".into()),
                },
            )
        });
    });

    // Stop dockerd before the containerd it runs on.
    drop(docker_daemon);
    drop(containerd_daemon);
    let leftovers = leaks::traces(&[], &[work.to_str().unwrap()]);
    if leftovers.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    run::remove_scratch();

    let t = tally.into_inner().unwrap();
    println!(
        "\nmanagers: {} passed; {} failed; {} skipped; {:.0} s",
        t.passed.len(),
        t.failed.len(),
        t.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    for s in &t.skipped {
        println!("  skipped {s}");
    }
    for f in &t.failed {
        println!("  FAILED {f}");
    }
    if !leftovers.is_empty() {
        println!(
            "  left behind by the run:\n    {}",
            leftovers.join("\n    ")
        );
    }
    if !t.failed.is_empty() || !leftovers.is_empty() {
        std::process::exit(1);
    }
}
