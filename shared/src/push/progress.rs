//! The progress line `packyard push` draws on stderr when stderr is a terminal: the phase, the percentage
//! of the file and the rate, redrawn four times a second.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A progress line on stderr, redrawn a few times a second while the push runs.
pub(super) struct Progress {
    /// Bytes of the file handled in the current phase.
    pub(super) done: Arc<AtomicU64>,
    phase: Arc<std::sync::Mutex<&'static str>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub(super) fn start(filename: &str, total: u64, draw: bool) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let phase = Arc::new(std::sync::Mutex::new("hashing"));
        let ticker = (draw && std::io::stderr().is_terminal()).then(|| {
            let (done, phase, filename) = (Arc::clone(&done), Arc::clone(&phase), filename.to_owned());
            tokio::spawn(async move {
                let mut started = (Instant::now(), "");
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tick.tick().await;
                    let phase = *phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if phase != started.1 && phase != "completing" {
                        started = (Instant::now(), phase);
                    }
                    let bytes = done.load(Ordering::Relaxed);
                    let percent = if total == 0 { 100 } else { bytes.saturating_mul(100) / total };
                    let rate = bytes as f64 / 1e6 / started.0.elapsed().as_secs_f64().max(0.001);
                    eprint!(
                        "\r\x1b[2K{phase} {filename}: {percent:>3}% of {:.1} MB, {rate:.1} MB/s",
                        total as f64 / 1e6
                    );
                }
            })
        });
        Self { done, phase, ticker }
    }

    /// Starts counting a new pass over the file ("completing" keeps the count: the bytes are all sent).
    pub(super) fn phase(&self, name: &'static str) {
        if name != "completing" {
            self.done.store(0, Ordering::Relaxed);
        }
        *self.phase.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = name;
    }

    pub(super) fn finish(&self) {
        if let Some(ticker) = &self.ticker {
            ticker.abort();
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
