//! TEMPORARY (replaced by the proc branch).
use oci_spec::runtime::LinuxCapabilities;
pub fn drop_bounding(_c: Option<&LinuxCapabilities>) -> anyhow::Result<()> {
    Ok(())
}
pub fn apply(_c: Option<&LinuxCapabilities>) -> anyhow::Result<()> {
    Ok(())
}
pub fn all_names() -> Vec<String> {
    Vec::new()
}
