//! update's Intel RDT flags on a running container.

use anyhow::{bail, Context, Result};
use std::path::Path;

use crate::intelrdt::{self, Group};
use crate::state::{self, Status};

/// Rewrites the container's resctrl schemata from update's --l3-cache-schema and
/// --mem-bw-schema; a container made without linux.intelRdt gets its own group first, as
/// runc's update does.
pub fn update_intel_rdt(root: &Path, id: &str, l3: Option<&str>, mb: Option<&str>) -> Result<()> {
    let lock = state::open(root, id)?;
    let mut st = lock.load_existing()?;
    let resctrl = st
        .intel_rdt
        .as_ref()
        .map(|g| g.root.clone())
        .or_else(intelrdt::root);
    intelrdt::check_update(resctrl.as_deref().map(intelrdt::Features::of), l3, mb)?;
    if state::status(&lock.dir, &st) == Status::Stopped {
        bail!("cannot update container {id:?}: container not running (it is stopped)");
    }
    let group = match st.intel_rdt.clone() {
        Some(g) => g,
        None => {
            let group = Group {
                // check_update passed: the root is there.
                root: resctrl.context("the resctrl mount")?,
                config: Default::default(),
            };
            intelrdt::apply(&group.root, &group.config, id, st.pid)?;
            st.intel_rdt = Some(group.clone());
            lock.save(&st)?;
            group
        }
    };
    let group = intelrdt::update(&group, id, l3, mb)
        .with_context(|| format!("updating container {id:?}"))?;
    // Kept for what comes later (delete, events), as runc keeps the updated config.
    st.intel_rdt = Some(group);
    lock.save(&st)
}
