//! Writes that lose a race try again. Records that many requests touch at once (a name's dist-tags, its
//! yanked versions, a Python release's file list) are rewritten under a version condition; when another
//! request changed the record first, the loser reads it again and retries with jitter instead of answering
//! 409, because npm, cargo and twine do not retry and a CI fleet publishing distinct versions would fail.
//! A true conflict (the same version published twice) is not a lost race: it fails at once.

use std::future::Future;

/// How often a write that lost a race is tried. Every round has a winner, and the jittered back-off spreads
/// the losers out, so dozens of concurrent writers to one record all get through.
pub(super) const ATTEMPTS: u32 = 32;

/// A short random pause before another attempt, growing with the attempt, so racing writers do not
/// collide again in lockstep.
async fn back_off(attempt: u32) {
    let millis = rand::random_range(0..=5 * u64::from(attempt.min(10) + 1));
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// Runs `attempt` until it reports a result: `Ok(Some(_))` is the outcome, `Ok(None)` means it lost a race
/// and wrote nothing, an error ends at once. `Ok(None)` when every attempt lost.
///
/// # Errors
/// The first error `attempt` returns.
pub(super) async fn until_won<T, E, F, Fut>(mut attempt: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    for round in 0..ATTEMPTS {
        if let Some(outcome) = attempt().await? {
            return Ok(Some(outcome));
        }
        back_off(round).await;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writer_that_keeps_losing_gives_up_after_every_attempt() {
        let mut tries = 0;
        let outcome: Result<Option<()>, ()> = until_won(|| {
            tries += 1;
            async { Ok(None) }
        })
        .await;
        assert_eq!(outcome, Ok(None));
        assert_eq!(tries, ATTEMPTS);
    }

    #[tokio::test]
    async fn a_writer_stops_at_its_first_win_or_error() {
        let mut tries = 0;
        let won: Result<Option<u32>, ()> = until_won(|| {
            tries += 1;
            let now = tries;
            async move { Ok((now == 3).then_some(now)) }
        })
        .await;
        assert_eq!(won, Ok(Some(3)));
        let failed: Result<Option<u32>, &str> = until_won(|| async { Err("refused") }).await;
        assert_eq!(failed, Err("refused"));
    }
}
