//! A counting semaphore for password hashing: each argon2id hash takes 19 MiB and a core for tens of
//! milliseconds, so a login flood must queue rather than exhaust memory. Hashing runs on blocking threads,
//! so a plain mutex and condition variable do.

use std::sync::{Condvar, Mutex, PoisonError};

/// At most `limit` hashes at once; the rest wait their turn.
#[derive(Debug)]
pub struct HashGate {
    in_use: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl HashGate {
    /// A gate for `limit` concurrent hashes (at least one).
    pub fn new(limit: usize) -> HashGate {
        HashGate { in_use: Mutex::new(0), freed: Condvar::new(), limit: limit.max(1) }
    }

    /// Runs `f` once a slot is free.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
            while *in_use >= self.limit {
                in_use = self.freed.wait(in_use).unwrap_or_else(PoisonError::into_inner);
            }
            *in_use += 1;
        }
        // Release the slot even if `f` panics.
        struct Release<'a>(&'a HashGate);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *self.0.in_use.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        f()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn never_more_than_the_limit_at_once() {
        let gate = Arc::new(HashGate::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    gate.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(peak.load(Ordering::SeqCst) >= 1);
    }
}
