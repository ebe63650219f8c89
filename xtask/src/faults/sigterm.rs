//! Scenario (b) of `cargo xtask faults`: SIGTERM under load.

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};

use super::checks::{report_failures, secs};
use super::load::{Counts, Op, Samples, expect_ok_for, register_users, worker};
use super::{Ctx, SHUTDOWN_TIMEOUT, wait_exit};
use crate::client::ClientError;

/// Load before the signal.
const SIGTERM_WARMUP: Duration = Duration::from_secs(2);

pub(super) async fn run(ctx: &Ctx) -> anyhow::Result<String> {
    let mut server = ctx.server("sigterm", &ctx.database.url, &[])?;
    let users = register_users(server.addr, "sigterm", 7).await?;
    let ops = [Op::Me, Op::Me, Op::Me, Op::Refresh, Op::Refresh, Op::Login, Op::Login];
    let samples = Samples::default();
    let stop = Rc::new(Cell::new(false));
    let mut tasks = Vec::new();
    for (op, user) in ops.iter().zip(&users) {
        tasks.push(tokio::task::spawn_local(worker(server.addr, *op, user.clone(), samples.clone(), stop.clone())));
    }
    tokio::time::sleep(SIGTERM_WARMUP).await;
    let signalled_at = Instant::now();
    server.terminate()?;
    let (status, took) = wait_exit(&mut server, SHUTDOWN_TIMEOUT + Duration::from_secs(5)).await?;
    stop.set(true);
    for task in tasks {
        task.await.context("a load task panicked")??;
    }

    let all = samples.take();
    let mut failures = Vec::new();
    let mut counts = Counts::default();
    let mut in_flight = 0;
    let mut refused_after = 0;
    for s in &all {
        let before = s.started < signalled_at;
        if before && s.finished >= signalled_at {
            in_flight += 1;
        }
        let phase = if before { "before" } else { "after" };
        let verdict = match &s.outcome {
            Ok(r) => {
                counts.add(phase, s);
                expect_ok_for(r, s)
            }
            // A new connection after the signal may be refused or closed unanswered: the server no longer
            // accepts. A request on a connection it had accepted must be answered.
            Err(ClientError::Connect(_)) if !before => {
                refused_after += 1;
                Ok(())
            }
            Err(ClientError::Lost { answered: false, .. }) if !before && s.fresh => {
                refused_after += 1;
                Ok(())
            }
            Err(e) => Err(format!("no answer: {e}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{} {phase} (+{:.3} s): {why}", s.op.name(), secs(s.started, signalled_at)));
        }
    }
    report_failures("sigterm", &failures)?;
    ensure!(in_flight > 0, "no request was in flight when SIGTERM came: the scenario proved nothing");
    ensure!(status.code() == Some(0), "the server exited with {status} after SIGTERM, not 0");
    let log = server.log_text()?;
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(r#""level":"ERROR""#)).collect();
    ensure!(errors.is_empty(), "the server logged errors during the shutdown:\n  {}", errors.join("\n  "));

    let mut out = String::new();
    writeln!(out, "\n(b) SIGTERM under load (3 × GET /users/me, 2 refresh chains, 2 × login)")?;
    writeln!(
        out,
        "    {in_flight} requests in flight at the signal, all answered 200; exit code 0 after {:.2} s; \
         {refused_after} new connections refused afterwards",
        took.as_secs_f64()
    )?;
    out.push_str(&counts.render());
    Ok(out)
}
