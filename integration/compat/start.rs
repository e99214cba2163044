//! `start` of a container that is not `created`, against runc: the same exit code and
//! runc's words for each state (running, paused, stopped with its init killed).

use super::{Outcome, Pair};
use crate::common::*;
use std::time::{Duration, Instant};

fn wait_status(root: &Root, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while root.state(id)["status"] != want {
        assert!(Instant::now() < deadline, "{id} never became {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn start_refused_in_every_state_but_created() {
    let pair = Pair::new();
    let b = Bundle::new(&base_config(&["/bin/sleep", "100"]));
    let dir = b.dir.to_str().unwrap();
    let (ob, or) = pair.both(|root, id| {
        root.ok(&["run", "-d", "--bundle", dir, id]);
        let running = Outcome::of(root, &["start", id]);
        root.ok(&["pause", id]);
        let paused = Outcome::of(root, &["start", id]);
        root.ok(&["resume", id]);
        root.ok(&["kill", id, "KILL"]);
        wait_status(root, id, "stopped");
        let stopped = Outcome::of(root, &["start", id]);
        root.ok(&["delete", id]);
        // A created container whose init was killed before start.
        let id2 = format!("{id}-dead");
        root.ok(&["create", "--bundle", dir, &id2]);
        let pid = root.state(&id2)["pid"].as_i64().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        wait_status(root, &id2, "stopped");
        let dead = Outcome::of(root, &["start", &id2]);
        root.ok(&["delete", &id2]);
        [running, paused, stopped, dead].map(|o| (o.code, o.error()))
    });
    let want = [
        "cannot start an already running container",
        "cannot start a container in the paused state",
        "cannot start a container that has stopped",
        "cannot start a container that has stopped",
    ];
    assert_eq!(or, want.map(|w| (1, w.to_string())), "runc");
    assert_eq!(ob, or, "berth vs runc");
}
