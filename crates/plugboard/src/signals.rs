//! The process's stop signals, SIGTERM and SIGINT, for `serve` and `dbss-agent`: their handlers
//! are installed by the call, not by the first poll, so a supervisor (or a test) that signals
//! the moment the process says it is up never meets the default action.

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C). Call it before announcing readiness.
#[cfg(unix)]
pub(crate) fn stop_requested() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind: SignalKind, name: &str| {
        signal(kind)
            .map_err(|e| tracing::warn!(error = %e, "{name} handler not installed"))
            .ok()
    };
    let term = install(SignalKind::terminate(), "SIGTERM");
    let int = install(SignalKind::interrupt(), "SIGINT");
    async move {
        tokio::select! {
            _ = received(term) => {},
            _ = received(int) => {},
        }
    }
}

/// Waits for one delivery of a signal whose handler is installed (forever when it is not).
#[cfg(unix)]
async fn received(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Resolves at Ctrl-C.
#[cfg(not(unix))]
pub(crate) fn stop_requested() -> impl std::future::Future<Output = ()> {
    async {
        tokio::signal::ctrl_c().await.ok();
    }
}
