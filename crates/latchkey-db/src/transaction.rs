//! Writes: `write_transaction` (a transaction that writes, behind the pool's writer gate on SQLite) and
//! `write_statements` (statements that are atomic on their own, with no transaction on PostgreSQL).

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::pool::PooledConn;

/// Runs `f` in a transaction that writes. On SQLite it first waits its turn at the pool's writer gate, then
/// begins with `BEGIN IMMEDIATE`, so the write lock is taken up front (waiting on `busy_timeout` only for
/// other processes); a deferred transaction that reads and then writes could fail with `SQLITE_BUSY` when
/// another writer got in between. On PostgreSQL it is an ordinary transaction. The closure's error type
/// only needs `From<DbError>`. Must not be nested: the gate is not reentrant.
pub fn write_transaction<T, E, F>(conn: &mut PooledConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<DbError>,
{
    /// Lets diesel's transaction machinery carry the caller's error type.
    enum TxError<E> {
        Caller(E),
        Db(diesel::result::Error),
    }
    impl<E> From<diesel::result::Error> for TxError<E> {
        fn from(e: diesel::result::Error) -> Self {
            TxError::Db(e)
        }
    }
    let unwrap = |e: TxError<E>| match e {
        TxError::Caller(e) => e,
        TxError::Db(e) => E::from(DbError::from(e)),
    };
    let gate = conn.writers.clone();
    let _turn = gate.turn();
    let conn: &mut AnyConnection = conn;
    match conn {
        AnyConnection::Pg(_) => conn.transaction(|c| f(c).map_err(TxError::Caller)).map_err(unwrap),
        AnyConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE").map_err(|e| E::from(e.into()))?;
            let result = f(conn);
            let AnyConnection::Sqlite(inner) = conn else {
                unreachable!("the closure cannot change the connection's variant")
            };
            match result {
                Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
                    Ok(()) => Ok(value),
                    Err(commit_err) => {
                        // A failed COMMIT leaves the transaction open; roll it back before reporting.
                        let _ = AnsiTransactionManager::rollback_transaction(inner);
                        Err(E::from(commit_err.into()))
                    }
                },
                Err(e) => {
                    AnsiTransactionManager::rollback_transaction(inner).map_err(|e| E::from(e.into()))?;
                    Err(e)
                }
            }
        }
    }
}

/// Runs `f`, a write whose statements are each atomic on their own and need no transaction around them, at
/// the least cost the backend allows. On PostgreSQL each statement commits by itself: no `BEGIN` and
/// `COMMIT` round trips. On SQLite it is [`write_transaction`], so it still waits its turn at the pool's
/// writer gate instead of meeting this process's other writers in SQLite's busy handler.
pub fn write_statements<T, E, F>(conn: &mut PooledConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<DbError>,
{
    match **conn {
        AnyConnection::Pg(_) => f(conn),
        AnyConnection::Sqlite(_) => write_transaction(conn, f),
    }
}
