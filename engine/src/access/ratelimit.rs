//! Per-key rate limits: a fixed window per calendar minute, as the reference describes ("per key,
//! per minute"; `X-RateLimit-Reset` is the end of the current minute in unix seconds).
//!
//! Algorithm: for each key, `(window, count)` where `window = unix_seconds / 60`. A request in a
//! newer window starts the count at zero; it is admitted iff `count < limit`, and then counts. The
//! map sits behind one mutex, so the check-and-count is atomic: however many threads race on a key,
//! at most `limit` requests are admitted per window. The state is per engine (per process): several
//! processes sharing a data directory each enforce the limit on their own.

use std::collections::HashMap;
use std::sync::Mutex;

use super::RateLimit;
use crate::error::{Error, Result};

pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

/// The outcome of asking to admit a request.
pub(crate) enum Admission {
    Admitted(RateLimit),
    /// Limited; seconds until the window resets.
    Limited(RateLimit, u64),
}

impl RateLimiter {
    pub(crate) fn new() -> RateLimiter {
        RateLimiter { windows: Mutex::new(HashMap::new()) }
    }

    /// Admits (and counts) one request of `key` at `now` (unix seconds), or refuses it.
    pub(crate) fn admit(&self, key: &str, limit: u32, now: u64) -> Result<Admission> {
        let window = now / 60;
        let reset = (window + 1) * 60;
        let mut map = self.windows.lock().map_err(|_| Error::internal("the rate limiter was poisoned by a panic"))?;
        // Keep the map from growing with keys idle since an earlier window.
        if map.len() > 10_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 < limit {
            entry.1 += 1;
            Ok(Admission::Admitted(RateLimit { limit, remaining: limit - entry.1, reset }))
        } else {
            Ok(Admission::Limited(RateLimit { limit, remaining: 0, reset }, (reset - now).max(1)))
        }
    }

    /// The state of `key` at `now` without counting a request (for replays).
    pub(crate) fn peek(&self, key: &str, limit: u32, now: u64) -> RateLimit {
        let window = now / 60;
        let used = self
            .windows
            .lock()
            .ok()
            .and_then(|m| m.get(key).copied())
            .filter(|(w, _)| *w == window)
            .map_or(0, |(_, c)| c);
        RateLimit { limit, remaining: limit.saturating_sub(used), reset: (window + 1) * 60 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_exactly_the_limit_then_resets_at_the_minute() {
        let rl = RateLimiter::new();
        let t0 = 1_714_915_740; // 60 s before 1714915800, the reference's example reset
        for i in 0..3 {
            match rl.admit("k", 3, t0 + i).unwrap() {
                Admission::Admitted(s) => assert_eq!((s.remaining, s.reset), (2 - i as u32, 1_714_915_800)),
                Admission::Limited(..) => panic!("admitted too few"),
            }
        }
        match rl.admit("k", 3, t0 + 45).unwrap() {
            Admission::Limited(s, retry) => assert_eq!((s.remaining, retry), (0, 15)),
            Admission::Admitted(_) => panic!("admitted past the limit"),
        }
        assert_eq!(rl.peek("k", 3, t0 + 50).remaining, 0);
        assert!(matches!(rl.admit("k", 3, t0 + 60).unwrap(), Admission::Admitted(s) if s.remaining == 2));
        assert!(matches!(rl.admit("other", 3, t0).unwrap(), Admission::Admitted(_)));
    }
}
