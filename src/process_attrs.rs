//! TEMPORARY (replaced by the proc branch).
use anyhow::Result;
use oci_spec::runtime::*;
pub fn set_oom_score_adj(_v: i32) -> Result<()> {
    Ok(())
}
pub fn apply_scheduler(_s: &Scheduler) -> Result<()> {
    Ok(())
}
pub fn apply_io_priority(_p: &LinuxIOPriority) -> Result<()> {
    Ok(())
}
pub fn apply_personality(_p: &LinuxPersonality) -> Result<()> {
    Ok(())
}
pub fn apply_exec_cpu_affinity(_a: &ExecCPUAffinity) -> Result<()> {
    Ok(())
}
pub fn set_no_new_privs() -> Result<()> {
    Ok(())
}
pub fn find_executable(
    a: &str,
    _env: &[String],
    _cwd: &std::path::Path,
) -> Result<std::ffi::CString> {
    Ok(std::ffi::CString::new(a)?)
}
