//! The log lines written while a test runs, for tests that a failure is logged. The adapters'
//! tests include this file too (`#[path]`).
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// Runs `f` with its logs captured (for this thread only, so tests running beside it add
/// nothing) and returns them.
pub(crate) fn logs_of(f: impl FnOnce()) -> String {
    let logs = Logs::default();
    tracing::subscriber::with_default(logs.subscriber(), f);
    logs.text()
}

/// A buffer that logs are written to, every event at every level, without colours or times.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// A subscriber writing here: for `with_default`, or a future's `with_subscriber`.
    pub(crate) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        keep_every_log_line_on();
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish()
    }

    /// What was written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs, once, a global subscriber that records nothing but answers "sometimes" for every
/// log line. tracing caches per line whether any subscriber wants it; a line first met by a
/// test with no subscriber, while another thread installs its own, can be cached as wanted by
/// none (the registration races the rebuild of the cache) and stay off for the capturing test.
/// With this one always present, no line is ever cached as "never".
fn keep_every_log_line_on() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Sometimes);
    });
}

struct Sometimes;

impl tracing::Subscriber for Sometimes {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
