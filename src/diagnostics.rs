//! The app's own diagnostics: tracing to a file in the state dir, never onto the screen.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;

/// Start file logging (`<state dir>/warroom.log`, level from `WARROOM_LOG`, default `info`).
/// Returns the guard that flushes on drop; `None` when the directory cannot be created.
pub fn init(state_dir: &Path) -> Option<WorkerGuard> {
    std::fs::create_dir_all(state_dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(state_dir, std::fs::Permissions::from_mode(0o700));
    }
    let appender = tracing_appender::rolling::never(state_dir, "warroom.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init().ok()?;
    Some(guard)
}
