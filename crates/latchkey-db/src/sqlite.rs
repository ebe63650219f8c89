//! What only SQLite needs: the writer gate that queues this process's writers, and the WAL checkpoint
//! helpers a long run of writes (the cleanup job) uses. The SQLite side of each helper is here; on
//! PostgreSQL they do nothing.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::connection::SimpleConnection;

use crate::connection::{AnyConnection, Backend};
use crate::error::DbError;

/// SQLite admits one writer at a time. Writers of this process queue here, handed the lock the moment
/// it is free, instead of polling it through SQLite's busy handler (which sleeps 1, 2, 5 … 100 ms
/// between tries: most of the refresh path's tail latency under load). Other processes on the same
/// file are still kept in order by `BEGIN IMMEDIATE` and `busy_timeout`. A pool's connections share
/// one gate; on PostgreSQL there is none. See [`crate::transaction::write_transaction`].
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterGate(Option<Arc<Mutex<()>>>);

impl WriterGate {
    /// The gate for a pool on `backend`: a lock on SQLite, nothing on PostgreSQL.
    pub(crate) fn for_backend(backend: Backend) -> WriterGate {
        WriterGate((backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))))
    }

    /// Waits for this writer's turn; the turn ends when the guard drops. Not reentrant.
    pub(crate) fn turn(&self) -> Option<MutexGuard<'_, ()>> {
        // A writer that panicked poisons the gate but leaves nothing behind it: a connection with a
        // transaction still open counts as broken and is discarded by the pool. So a poisoned gate is still
        // a good gate.
        self.0.as_deref().map(|g| g.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// SQLite: whether this connection's commits checkpoint the WAL themselves once it has grown past 1,000
/// pages (SQLite's default, `on`). A long run of writes (the cleanup job) turns it off and checkpoints
/// between its statements instead, with [`checkpoint_wal`], so that the fsync of a checkpoint is never
/// part of a statement's time. PostgreSQL: nothing to do.
pub fn set_wal_autocheckpoint(conn: &mut AnyConnection, on: bool) -> Result<(), DbError> {
    match conn {
        AnyConnection::Pg(_) => Ok(()),
        AnyConnection::Sqlite(inner) => {
            let pages = if on { 1000 } else { 0 };
            Ok(inner.batch_execute(&format!("PRAGMA wal_autocheckpoint = {pages}"))?)
        }
    }
}

/// SQLite: copies what it can of the WAL into the database file (`PRAGMA wal_checkpoint(PASSIVE)`). A
/// passive checkpoint takes no write lock and waits for no reader or writer. PostgreSQL: nothing to do.
pub fn checkpoint_wal(conn: &mut AnyConnection) -> Result<(), DbError> {
    match conn {
        AnyConnection::Pg(_) => Ok(()),
        AnyConnection::Sqlite(inner) => Ok(inner.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")?),
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::pool::{Db, PoolOptions};
    use crate::url::DatabaseUrl;

    #[test]
    fn a_writer_can_take_over_sqlite_checkpoints_and_give_them_back() {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            wal_autocheckpoint: i32,
        }
        let pages = |conn: &mut AnyConnection| match conn {
            AnyConnection::Sqlite(inner) => {
                diesel::sql_query("PRAGMA wal_autocheckpoint").get_result::<Setting>(inner).unwrap().wal_autocheckpoint
            }
            AnyConnection::Pg(_) => unreachable!("a SQLite test"),
        };
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("t.db").display().to_string());
        let db = Db::new(&url, PoolOptions { max_size: 1, ..PoolOptions::default() }).unwrap();
        let mut conn = db.conn().unwrap();
        assert_eq!(pages(&mut conn), 1000, "SQLite's default");
        set_wal_autocheckpoint(&mut conn, false).unwrap();
        assert_eq!(pages(&mut conn), 0);
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").unwrap();
        checkpoint_wal(&mut conn).unwrap();
        set_wal_autocheckpoint(&mut conn, true).unwrap();
        assert_eq!(pages(&mut conn), 1000);
    }
}
