//! The progress line `packyard push` draws on stderr when stderr is a terminal: the phase, the percentage
//! of the file and the rate, redrawn four times a second.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A progress line on stderr, redrawn a few times a second while the push runs.
pub(super) struct Progress {
    /// Bytes of the file handled in the current phase.
    pub(super) done: Arc<AtomicU64>,
    /// The current phase and when it began (set together, so the rate never spans two phases).
    phase: Arc<Mutex<(Phase, Instant)>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// What the push is doing: passes over the file, then waiting for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Hashing,
    Uploading,
    /// Every byte is sent; the server checks them and publishes.
    Completing,
}

impl Progress {
    pub(super) fn start(filename: &str, total: u64, draw: bool) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let phase = Arc::new(Mutex::new((Phase::Hashing, Instant::now())));
        let ticker = (draw && std::io::stderr().is_terminal()).then(|| {
            let (done, phase, filename) = (Arc::clone(&done), Arc::clone(&phase), filename.to_owned());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tick.tick().await;
                    let (phase, since) = *phase.lock().unwrap_or_else(PoisonError::into_inner);
                    eprint!("\r\x1b[2K{}", line(phase, since, &filename, done.load(Ordering::Relaxed), total));
                }
            })
        });
        Self { done, phase, ticker }
    }

    /// Starts a new phase; a pass over the file counts its bytes from zero.
    pub(super) fn phase(&self, phase: Phase) {
        if phase != Phase::Completing {
            self.done.store(0, Ordering::Relaxed);
        }
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = (phase, Instant::now());
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

fn line(phase: Phase, since: Instant, filename: &str, bytes: u64, total: u64) -> String {
    let megabytes = total as f64 / 1e6;
    let seconds = since.elapsed().as_secs_f64();
    match phase {
        Phase::Completing => {
            format!("completing {filename}: the server is checking {megabytes:.1} MB ({seconds:.0} s)")
        }
        Phase::Hashing | Phase::Uploading => {
            let verb = if phase == Phase::Hashing { "hashing" } else { "uploading" };
            let percent = bytes.saturating_mul(100).checked_div(total).unwrap_or(100);
            let rate = bytes as f64 / 1e6 / seconds.max(0.001);
            format!("{verb} {filename}: {percent:>3}% of {megabytes:.1} MB, {rate:.1} MB/s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_shows_its_percentage_and_completion_shows_the_wait() {
        let now = Instant::now();
        assert!(line(Phase::Uploading, now, "a.bin", 50, 200).starts_with("uploading a.bin:  25% of 0.0 MB"));
        assert!(line(Phase::Hashing, now, "empty.bin", 0, 0).starts_with("hashing empty.bin: 100%"));
        assert!(line(Phase::Completing, now, "a.bin", 200, 200).contains("the server is checking"));
    }
}
