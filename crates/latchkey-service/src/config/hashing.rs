//! Password-hashing settings: the hashing threads, how many requests may wait for them and for how long,
//! and the threads' niceness.

use super::env;

/// The password-hashing pool (load shedding under a login flood).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Password hashing")]
pub struct HashSettings {
    /// Threads that hash and verify passwords, each with a 19 MiB argon2 buffer (1–256; default: one per
    /// core).
    #[arg(id = "hash_workers", long = "hash-workers", env = "HASH_WORKERS", default_value_t = cores(), value_parser = env::int::<usize>(1..=256))]
    pub workers: usize,
    /// Requests allowed to wait for a password check; one more gets 503 (1–100000).
    #[arg(long = "hash-queue-limit", env = "HASH_QUEUE_LIMIT", default_value = "256",
          value_parser = env::int::<usize>(1..=100_000))]
    pub queue_limit: usize,
    /// A request that waited this many milliseconds for a password check gets 503 (1–60000).
    #[arg(long = "hash-max-wait-ms", env = "HASH_MAX_WAIT_MS", default_value = "1000",
          value_parser = env::int::<u64>(1..=60_000))]
    pub max_wait_ms: u64,
    /// Niceness of the hashing threads (0–19, Linux), so request handling wins the CPU.
    #[arg(long = "hash-nice", env = "HASH_NICE", default_value = "10", value_parser = env::int::<i32>(0..=19))]
    pub nice: i32,
}

/// Every core may hash: the threads run at `HASH_NICE`, so request handling still wins the CPU, and the auth
/// check no longer waits for PostgreSQL (the session cache), which the hashing would slow down
/// (docs/performance.md, "Logins at the argon2 limit").
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from).clamp(1, 256)
}
