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
