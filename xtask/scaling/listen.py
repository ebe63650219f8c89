#!/usr/bin/env python3
"""N idle connections LISTENing on latchkey_auth_cache, read as a node's listener reads them.

    python3 listen.py URL N [SECONDS]

Each connection does what a node's listener thread does (crates/latchkey-db/src/listen.rs,
session_cache.rs): LISTEN once, then every 2 ms take every notification that has arrived (reading input
before each, as diesel's notifications_iter does), and every 250 ms a `SELECT 1` heartbeat. One process serves all N connections: every 2 ms it reads the connections that
have something to read (epoll), as each node's thread reads its one connection every 2 ms. It prints "ready" once every connection
listens. On SIGTERM/SIGINT (or after SECONDS) it keeps reading until no notification has come for a
second, so that what was committed is all heard, then prints one JSON line: notifications received in
total and per connection, how long after the signal the last one came (drain_s: the backlog), the delay from the trigger's clock (the payload's last field, PostgreSQL's
clock_timestamp() inside the transaction, before its COMMIT) to receipt on the first connection
(p50/p99/max, ms; same machine, same clock), and this process's CPU seconds.

Needs psycopg 3 (pip install "psycopg[binary]").
"""
import json
import selectors
import signal
import sys
import time

import psycopg

CHANNEL = "latchkey_auth_cache"
POLL = 0.002
HEARTBEAT = 0.25


def main() -> None:
    url, n = sys.argv[1], int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else None
    conns = []
    sel = selectors.DefaultSelector()
    for i in range(n):
        conn = psycopg.connect(url, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        pg = conn.pgconn
        pg.nonblocking = 1
        conns.append((conn, pg))
        sel.register(pg.socket, selectors.EVENT_READ, i)
    stop = None

    def finish(*_):
        nonlocal stop
        if stop is None:
            stop = time.monotonic()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    print("ready", flush=True)
    received = [0] * n
    delays = []
    busy = [False] * n
    started = time.monotonic()
    cpu0 = time.process_time()
    last_beat = started
    last_heard = started
    while True:
        now = time.monotonic()
        if seconds is not None and now - started >= seconds and stop is None:
            stop = now
        if stop is not None and now - max(stop, last_heard) >= 1.0:
            break
        beat = now - last_beat >= HEARTBEAT
        if beat:
            last_beat = now
        # The first connection is read every tick whatever epoll says (TLS may hold bytes libpq has read).
        for i in {key.data for key, _ in sel.select(0)} | ({0} if n else set()):
            pg = conns[i][1]
            first = i == 0
            # As diesel's notifications_iter: input read before every PQnotifies (over TLS one read
            # brings one record, and a notification sent on its own is a record of its own).
            while True:
                pg.consume_input()
                note = pg.notifies()
                if note is None:
                    break
                received[i] += 1
                last_heard = now
                if first:
                    at = float(note.extra.rsplit(b" ", 1)[1])
                    delays.append(time.time() - at)
            if busy[i]:
                while not pg.is_busy():
                    if pg.get_result() is None:
                        busy[i] = False
                        break
        if beat:
            for i, (_, pg) in enumerate(conns):
                if not busy[i]:
                    pg.send_query(b"SELECT 1")
                    pg.flush()
                    busy[i] = True
        time.sleep(POLL)
    cpu = time.process_time() - cpu0
    delays.sort()

    def q(p: float) -> float | None:
        return round(delays[min(len(delays) - 1, int(p * len(delays)))] * 1000, 2) if delays else None

    print(json.dumps({
        "connections": n,
        "received": sum(received),
        "received_per_connection": round(sum(received) / n) if n else 0,
        "drain_s": round(max(0.0, last_heard - stop), 2),
        "delay_ms_p50": q(0.50),
        "delay_ms_p99": q(0.99),
        "delay_ms_max": round(delays[-1] * 1000, 2) if delays else None,
        "cpu_s": round(cpu, 2),
    }), flush=True)
    for conn, _ in conns:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
