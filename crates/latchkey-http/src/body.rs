//! Reading request bodies: every body is read against a deadline and within a memory budget, by the one
//! reader every body extractor uses (`crate::extract::body`), and never beyond [`MAX_BODY_BYTES`].
//!
//! - **Deadline** (`BODY_READ_TIMEOUT_SECONDS`, default 15 s): a body not complete this long after its
//!   request arrived is answered 408 in the envelope and its connection is closed. Authentication happens
//!   when the head arrives, so without it a client holding back its last byte would keep a request (and
//!   whatever it holds) open for ever. Waiting for the budget counts against the deadline too.
//! - **Budget** (`BODY_MEMORY_BUDGET_MB`, default 32 MiB): the bytes that bodies being read and parsed
//!   hold together. A body with a `Content-Length` reserves all of it before its first byte is read, so
//!   bodies never hold part of what they need while waiting for the rest (no two can starve each other);
//!   a chunked body reserves as it grows, and the deadline bounds how long it can hold a part. A body
//!   waiting for the budget is not read: its bytes stay in the socket (actix stops reading a payload that
//!   nobody consumes), so the waiting costs no memory. Bodies of at most [`SMALL_BODY_BYTES`] (every
//!   legitimate body of this API) use their own eighth of the budget, so they never queue behind large
//!   ones.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::{HttpMessage as _, HttpRequest, web};
use futures_util::StreamExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ErrorItem};

/// Largest accepted request body: 10 MiB. A declared `Content-Length` over it is refused before any byte
/// is read (`middleware::body_limit`); the reader stops at it whatever the body declared.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Bodies up to this size are small: they reserve from their own part of the budget and are parsed on
/// the worker that read them; larger ones are parsed on the blocking pool.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

/// When the request arrived (its head was parsed), stamped by `crate::middleware::body_limit`; the body
/// deadline counts from here.
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub Instant);

/// A connection's "close after this answer" switch, put in every request's connection data by
/// `crate::server`. Setting a response's `Connection: close` is not enough on its own: after answering a
/// chunked request whose body was not read to the end, actix goes on reading (and discarding) that body
/// for as long as the client sends it. Once this is set, the connection reads as closed, so actix sends
/// the answer and closes it.
#[derive(Debug, Clone, Default)]
pub struct CloseConnection(Rc<Cell<bool>>);

impl CloseConnection {
    /// From now on the connection reads as closed.
    pub fn request(&self) {
        self.0.set(true);
    }

    /// Whether [`request`](CloseConnection::request) was called.
    pub fn is_requested(&self) -> bool {
        self.0.get()
    }
}

/// The body deadline and the memory budget (see the module docs); cheap to clone, shared by every worker.
/// The app keeps it in its data, where [`read`] finds it.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    small: Arc<Semaphore>,
    large: Arc<Semaphore>,
    timeout: Duration,
}

impl BodyBudget {
    /// A budget of `total_bytes` (an eighth for small bodies; the rest must hold the largest body) and a
    /// read deadline of `timeout`.
    pub fn new(total_bytes: usize, timeout: Duration) -> BodyBudget {
        let small = total_bytes / 8;
        let large = (total_bytes - small).max(MAX_BODY_BYTES);
        BodyBudget { small: Arc::new(Semaphore::new(small)), large: Arc::new(Semaphore::new(large)), timeout }
    }

    /// The deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// A body read in full, with the share of the budget it holds until dropped.
#[derive(Debug)]
pub struct ReadBody {
    pub bytes: web::Bytes,
    _reservation: Reservation,
}

/// Bytes reserved from the budget: from the small part while the body is small, then from the large one.
#[derive(Debug, Default)]
struct Reservation {
    small: Option<OwnedSemaphorePermit>,
    large: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    fn bytes(&self) -> usize {
        self.small.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
            + self.large.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Makes the reservation cover at least `needed` bytes (at most [`MAX_BODY_BYTES`]), waiting as long
    /// as the budget is short. Chunked bodies grow it in steps, not per chunk.
    async fn cover(&mut self, budget: &BodyBudget, needed: usize, exact: bool) -> Result<(), ApiError> {
        let held = self.bytes();
        if needed <= held {
            return Ok(());
        }
        let step = if needed <= SMALL_BODY_BYTES { 16 * 1024 } else { 1024 * 1024 };
        let target = if exact { needed } else { needed.div_ceil(step) * step };
        let closed = |_| ApiError::internal("the body budget's semaphore was closed");
        if target <= SMALL_BODY_BYTES {
            let more = permits(target - held);
            let permit = budget.small.clone().acquire_many_owned(more).await.map_err(closed)?;
            merge(&mut self.small, permit);
        } else {
            let target = target.min(MAX_BODY_BYTES);
            let held_large = self.large.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
            let permit = budget.large.clone().acquire_many_owned(permits(target - held_large)).await.map_err(closed)?;
            merge(&mut self.large, permit);
            // Counted in the large part now; the small part goes back to small bodies.
            self.small = None;
        }
        Ok(())
    }
}

fn permits(bytes: usize) -> u32 {
    u32::try_from(bytes).expect("a body reservation is at most MAX_BODY_BYTES")
}

fn merge(slot: &mut Option<OwnedSemaphorePermit>, permit: OwnedSemaphorePermit) {
    match slot {
        Some(held) => held.merge(permit),
        None => *slot = Some(permit),
    }
}

/// The body's declared length, when it has one (a chunked body has none).
fn declared_length(req: &HttpRequest) -> Option<usize> {
    if req.headers().contains_key(TRANSFER_ENCODING) {
        return None;
    }
    req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// Reads the whole body of `req` within the deadline and the budget: 413 beyond [`MAX_BODY_BYTES`] read,
/// 408 (closing the connection) when the deadline passes first.
pub async fn read(req: &HttpRequest, payload: Payload) -> Result<ReadBody, ApiError> {
    let budget = req.app_data::<BodyBudget>().cloned();
    let timeout =
        budget.as_ref().map_or(Duration::from_secs(crate::settings::BODY_READ_TIMEOUT_SECONDS), |b| b.timeout);
    let arrival = req.extensions().get::<Arrival>().map_or_else(Instant::now, |a| a.0);
    let declared = declared_length(req);
    match tokio::time::timeout_at((arrival + timeout).into(), read_within(budget.as_ref(), declared, payload)).await {
        Ok(body) => body,
        Err(_) => {
            if let Some(close) = req.conn_data::<CloseConnection>() {
                close.request();
            }
            Err(ApiError::body_timeout())
        }
    }
}

async fn read_within(
    budget: Option<&BodyBudget>,
    declared: Option<usize>,
    mut payload: Payload,
) -> Result<ReadBody, ApiError> {
    let mut reservation = Reservation::default();
    if declared == Some(0) {
        return Ok(ReadBody { bytes: web::Bytes::new(), _reservation: reservation });
    }
    let declared = declared.filter(|&n| n <= MAX_BODY_BYTES);
    if let (Some(budget), Some(len)) = (budget, declared) {
        reservation.cover(budget, len, true).await?;
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::validation(vec![ErrorItem::validation(None, format!("Invalid body: {e}"))]))?;
        let len = body.len() + chunk.len();
        if len > MAX_BODY_BYTES {
            return Err(ApiError::too_large());
        }
        if let Some(budget) = budget {
            reservation.cover(budget, len, false).await?;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(ReadBody { bytes: body.freeze(), _reservation: reservation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn reservations_grow_in_steps_and_move_to_the_large_part() {
        let budget = BodyBudget::new(16 * 1024 * 1024, Duration::from_secs(1));
        let small = budget.small.available_permits();
        let mut r = Reservation::default();
        r.cover(&budget, 100, false).await.unwrap();
        assert_eq!(r.bytes(), 16 * 1024);
        assert_eq!(budget.small.available_permits(), small - 16 * 1024);
        r.cover(&budget, 100 * 1024, false).await.unwrap();
        assert_eq!((r.bytes(), r.small.is_none()), (1024 * 1024, true));
        assert_eq!(budget.small.available_permits(), small, "the small part was given back");
        drop(r);
        assert_eq!(budget.large.available_permits(), 14 * 1024 * 1024);
    }

    #[actix_web::test]
    async fn a_declared_body_waits_for_the_budget_and_a_small_one_does_not_wait_behind_it() {
        let budget = BodyBudget::new(16 * 1024 * 1024, Duration::from_secs(1));
        let mut first = Reservation::default();
        first.cover(&budget, MAX_BODY_BYTES, true).await.unwrap();
        let mut second = Reservation::default();
        let waiting = tokio::time::timeout(Duration::from_millis(50), second.cover(&budget, MAX_BODY_BYTES, true));
        assert!(waiting.await.is_err(), "14 MiB cannot hold two 10 MiB bodies");
        let mut small = Reservation::default();
        small.cover(&budget, 500, true).await.unwrap();
        drop(first);
        second.cover(&budget, MAX_BODY_BYTES, true).await.unwrap();
    }
}
