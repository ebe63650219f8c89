//! The hashing pool: a few threads of its own that hash and verify passwords, entered through an async,
//! bounded wait.
//!
//! An argon2id hash takes 19 MiB and tens of milliseconds of a core. Run on the blocking pool that database
//! work also uses, a login flood fills that pool with hashes (and with logins waiting for a hash), so every
//! other request waits behind them, and every thread that ever hashed keeps its 19 MiB in its malloc arena.
//! Here instead:
//!
//! - `workers` threads do all password hashing, each in one [`HashMemory`] allocated on its first job and
//!   reused, so hashing memory is bounded by the number of workers;
//! - a request first takes a [`Ticket`] (one of `2 × workers`), asynchronously: waiting for one holds no
//!   thread at all. The ticket covers the request's database step before the hash and the hash itself, so
//!   at most that many logins touch the database or the hashing queue at once, however many arrive;
//! - the wait is bounded: past `queue_limit` waiting requests a new one is refused without queueing, and a
//!   request that waited `max_wait` for its ticket gives up; either way the caller gets
//!   [`ServiceError::Overloaded`] (503 with `Retry-After`): load shedding instead of a stall for everyone.
//! - a refused request is answered after `max_wait` too, like one that waited in vain (it holds no ticket
//!   and no thread meanwhile, only a timer). Answering it at once would let each flooding connection loop
//!   as fast as the server can say 503, and the flood's CPU would come out of everyone else's requests;
//!   so every shed login costs its connection `max_wait`, which paces a flood to about one attempt per
//!   `max_wait` per connection;
//! - the hashing threads run at a lower scheduling priority (`nice`, Linux): when request handling and
//!   hashing both want the CPU, request handling wins, so a flood of logins cannot take the cores the auth
//!   checks need (with every core hashing at full priority, a 2-core server would keep little of its
//!   throughput). On an otherwise idle machine hashing still gets whole cores: one thread per core by
//!   default.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use latchkey_auth::{HashMemory, PasswordHasher, Verification};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::ServiceError;

/// How big the pool is and how long a hash may be waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPoolOptions {
    /// Hashing threads (each with 19 MiB of argon2 memory once it has hashed).
    pub workers: usize,
    /// Most requests waiting for a ticket; one more is refused at once.
    pub queue_limit: usize,
    /// A request that waited this long for a ticket is refused.
    pub max_wait: Duration,
    /// Niceness of the hashing threads (0–19; Linux only, ignored elsewhere).
    pub nice: i32,
}

/// Seconds a shed request is told to wait before retrying.
pub const RETRY_AFTER_SECS: u64 = 1;

enum Work {
    Hash(String),
    /// `None`: an unknown account, verified against the dummy hash so it costs the same.
    Verify {
        password: String,
        stored: Option<String>,
    },
}

enum Done {
    Hash(Result<String, latchkey_auth::AuthError>),
    Verify(Verification),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Done>,
}

struct Shared {
    /// Tickets: `2 × workers`.
    tickets: Arc<Semaphore>,
    /// Requests waiting for a ticket.
    waiting: AtomicUsize,
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
    queued: AtomicUsize,
    in_flight: AtomicUsize,
    shed: AtomicU64,
    shutdown: AtomicBool,
    hasher: PasswordHasher,
    options: HashPoolOptions,
}

/// The pool; dropping it stops its threads once they finish their current job.
pub struct HashPool {
    shared: Arc<Shared>,
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("options", &self.shared.options)
            .field("queued", &self.queued())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl HashPool {
    /// Starts the workers.
    pub fn new(hasher: PasswordHasher, options: HashPoolOptions) -> Result<HashPool, ServiceError> {
        let options = HashPoolOptions { workers: options.workers.max(1), ..options };
        let shared = Arc::new(Shared {
            tickets: Arc::new(Semaphore::new(2 * options.workers)),
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::with_capacity(2 * options.workers)),
            ready: Condvar::new(),
            queued: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            shed: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            hasher,
            options,
        });
        for n in 0..options.workers {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{n}"))
                .spawn(move || {
                    lower_priority(shared.options.nice);
                    worker(&shared)
                })
                .map_err(|e| ServiceError::Internal(format!("starting a hashing thread: {e}")))?;
        }
        Ok(HashPool { shared })
    }

    /// Requests waiting for a ticket, plus hashes waiting for a worker, now (a gauge for metrics).
    pub fn queued(&self) -> usize {
        self.shared.waiting.load(Ordering::Relaxed) + self.shared.queued.load(Ordering::Relaxed)
    }

    /// Hashes being computed now (a gauge for metrics).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Requests shed since start (a counter for metrics).
    pub fn shed_total(&self) -> u64 {
        self.shared.shed.load(Ordering::Relaxed)
    }

    /// The pool's limits.
    pub fn options(&self) -> HashPoolOptions {
        self.shared.options
    }

    /// Waits (asynchronously, holding no thread) for a ticket: `Overloaded` after `max_wait`, either because
    /// `queue_limit` requests were already waiting (this one is not queued, only paced) or because no ticket
    /// came in time. A use case takes its ticket before its database step, so a request that is shed is shed
    /// before it costs the database anything.
    pub async fn ticket(&self) -> Result<Ticket, ServiceError> {
        let shared = &self.shared;
        // Count the waiter first, so the limit holds however many callers race here.
        if shared.waiting.fetch_add(1, Ordering::AcqRel) >= shared.options.queue_limit {
            shared.waiting.fetch_sub(1, Ordering::AcqRel);
            let refused = shared.overloaded("too many requests waiting for a password check");
            tokio::time::sleep(shared.options.max_wait).await;
            return Err(refused);
        }
        let permit = tokio::time::timeout(shared.options.max_wait, Arc::clone(&shared.tickets).acquire_owned()).await;
        shared.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(permit)) => Ok(Ticket { shared: Arc::clone(shared), _permit: permit }),
            Ok(Err(_closed)) => Err(ServiceError::Internal("the hashing pool is shut down".into())),
            Err(_elapsed) => Err(shared.overloaded("waited too long for a password check")),
        }
    }

    /// Hashes a new password (argon2id, current parameters).
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        self.ticket().await?.hash(password).await
    }

    /// Verifies a password against a stored hash, or against the dummy hash when there is none (an
    /// unknown account costs the same as a known one).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification, ServiceError> {
        self.ticket().await?.verify(password, stored).await
    }
}

/// The right to one hash or verification, taken with [`HashPool::ticket`]; given back when dropped.
pub struct Ticket {
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket")
    }
}

impl Ticket {
    /// Hashes a new password (argon2id, current parameters).
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        match self.submit(Work::Hash(password)).await? {
            Done::Hash(result) => Ok(result?),
            Done::Verify(_) => unreachable!("a hash job is answered with a hash"),
        }
    }

    /// Verifies a password against a stored hash, or against the dummy hash when there is none.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification, ServiceError> {
        match self.submit(Work::Verify { password, stored }).await? {
            Done::Verify(v) => Ok(v),
            Done::Hash(_) => unreachable!("a verify job is answered with a verification"),
        }
    }

    /// Queues the job (there are never more jobs than tickets) and waits for its answer; the caller holds
    /// the ticket at least until then (a login keeps it until its failure is recorded).
    async fn submit(&self, work: Work) -> Result<Done, ServiceError> {
        let shared = &self.shared;
        let (reply, answer) = oneshot::channel();
        shared.queued.fetch_add(1, Ordering::AcqRel);
        shared.queue.lock().unwrap_or_else(PoisonError::into_inner).push_back(Job { work, reply });
        shared.ready.notify_one();
        // A dropped sender means the pool shut down before running the job.
        answer.await.map_err(|_| ServiceError::Internal("the hashing pool is shut down".into()))
    }
}

impl Shared {
    fn overloaded(&self, why: &'static str) -> ServiceError {
        let total = self.shed.fetch_add(1, Ordering::Relaxed) + 1;
        // One line per 1000 shed requests, not one each: a flood must not become a logging flood.
        if total % 1000 == 1 {
            tracing::warn!(reason = why, shed_total = total, "password hashing overloaded: requests are being shed");
        }
        ServiceError::Overloaded { retry_after_secs: RETRY_AFTER_SECS }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        // Taking the lock orders the flag before the workers' next check.
        drop(self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner));
        self.shared.ready.notify_all();
    }
}

/// Lowers the calling thread's scheduling priority (on Linux, niceness is per thread). Best effort: a
/// failure only costs the protection, so it is logged, not fatal.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
        tracing::warn!(error = %e, nice, "could not lower the priority of a password-hashing thread");
    }
}

fn worker(shared: &Shared) {
    // Allocated on the first job: an idle pool (in tests, a CLI command) costs no hashing memory.
    let mut memory: Option<HashMemory> = None;
    loop {
        let job = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if shared.shutdown.load(Ordering::Acquire) {
                    return;
                }
                if let Some(job) = queue.pop_front() {
                    break job;
                }
                queue = shared.ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
        };
        shared.queued.fetch_sub(1, Ordering::AcqRel);
        // Nobody waits for the answer any more (the client went away): skip the work.
        if job.reply.is_closed() {
            continue;
        }
        shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let memory = memory.get_or_insert_with(HashMemory::new);
        let done = match job.work {
            Work::Hash(password) => Done::Hash(shared.hasher.hash_in(&password, memory)),
            Work::Verify { password, stored: Some(stored) } => {
                Done::Verify(shared.hasher.verify_in(&password, &stored, memory))
            }
            Work::Verify { password, stored: None } => {
                shared.hasher.verify_dummy_in(&password, memory);
                Done::Verify(Verification::Invalid)
            }
        };
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        let _ = job.reply.send(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue_limit: usize, max_wait: Duration) -> HashPool {
        HashPool::new(PasswordHasher::default(), HashPoolOptions { workers, queue_limit, max_wait, nice: 10 }).unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn hashes_and_verifies() {
        let pool = pool(1, 4, Duration::from_secs(30));
        runtime().block_on(async {
            let hash = pool.hash("Correct-Horse-9!".into()).await.unwrap();
            assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
            let ok = pool.verify("Correct-Horse-9!".into(), Some(hash.clone())).await.unwrap();
            assert_eq!(ok, Verification::Valid { needs_rehash: false });
            let bad = pool.verify("Correct-Horse-9?".into(), Some(hash)).await.unwrap();
            assert_eq!(bad, Verification::Invalid);
            let unknown = pool.verify("Correct-Horse-9!".into(), None).await.unwrap();
            assert_eq!(unknown, Verification::Invalid);
        });
        assert_eq!((pool.queued(), pool.in_flight()), (0, 0));
    }

    #[test]
    fn waiting_is_bounded_by_the_queue_limit_and_the_deadline() {
        // One worker: two tickets. Hold both, then: two more requests may wait, a fifth is refused without
        // being queued (answered at the deadline all the same), and the waiting ones give up at the deadline.
        let pool = Arc::new(pool(1, 2, Duration::from_millis(200)));
        runtime().block_on(async {
            let held = (pool.ticket().await.unwrap(), pool.ticket().await.unwrap());
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move { pool.ticket().await.map(drop) })
                })
                .collect();
            // Let both waiters register.
            while pool.queued() < 2 {
                tokio::task::yield_now().await;
            }
            let asked = std::time::Instant::now();
            let refused = pool.ticket().await;
            assert!(asked.elapsed() >= Duration::from_millis(200), "a refusal is paced to the deadline");
            assert_eq!(pool.queued(), 2, "a refused request never joins the queue");
            assert!(
                matches!(refused, Err(ServiceError::Overloaded { retry_after_secs: RETRY_AFTER_SECS })),
                "{refused:?}"
            );
            for waiter in waiters {
                let result = waiter.await.unwrap();
                assert!(matches!(result, Err(ServiceError::Overloaded { .. })), "{result:?}");
            }
            assert_eq!(pool.queued(), 0);
            assert_eq!(pool.shed_total(), 3);
            // A ticket given back lets the next request through.
            drop(held);
            let hash = pool.hash("password".into()).await.unwrap();
            assert!(hash.starts_with("$argon2id$"));
        });
    }

    #[test]
    fn never_more_hashes_at_once_than_workers() {
        let pool = Arc::new(pool(2, 100, Duration::from_secs(60)));
        let peak = Arc::new(AtomicUsize::new(0));
        let results = runtime().block_on(async {
            let watch = {
                let (pool, peak) = (Arc::clone(&pool), Arc::clone(&peak));
                tokio::spawn(async move {
                    loop {
                        peak.fetch_max(pool.in_flight(), Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                })
            };
            let jobs: Vec<_> = (0..8)
                .map(|i| {
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move { pool.hash(format!("password {i}")).await })
                })
                .collect();
            let mut results = Vec::new();
            for job in jobs {
                results.push(job.await.unwrap());
            }
            watch.abort();
            results
        });
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(peak.load(Ordering::Relaxed) <= 2, "{}", peak.load(Ordering::Relaxed));
    }
}
