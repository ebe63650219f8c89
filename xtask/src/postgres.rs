//! PostgreSQL for the xtask commands, through `psql`: which server a command uses (`--backend`, the
//! `LATCHKEY_TEST_POSTGRES_URL` variable, or the local server when it listens), a scratch database made
//! for one run and dropped afterwards, and the switches `cargo xtask faults` throws on it: the database
//! taken away and given back (`ALLOW_CONNECTIONS` and `pg_terminate_backend`, touching no other database
//! on the shared server), and a role of its own whose connections can be cut.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, ensure};

use crate::Backend;

/// The local server this project's machines run.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn local_postgres_listens() -> bool {
    let addr: SocketAddr = "127.0.0.1:5432".parse().expect("a valid address");
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// The PostgreSQL server `backend` asks for: none for SQLite; `configured` (required) for postgres; for
/// all, `configured` or else the local server when it listens. `how` tells the user how to name one.
pub fn server_url(backend: Backend, configured: Option<String>, how: &str) -> anyhow::Result<Option<String>> {
    Ok(match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            Some(configured.with_context(|| format!("--backend postgres needs {how} (e.g. {LOCAL_URL})"))?)
        }
        Backend::All => configured.or_else(|| local_postgres_listens().then(|| LOCAL_URL.to_owned())),
    })
}

/// A fresh PostgreSQL database made with `psql` next to the given one, dropped on drop.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchDatabase {
    pub fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("latchkey_bench_{}", std::process::id());
        psql(admin_url, &[&format!("DROP DATABASE IF EXISTS {name}")])?;
        psql(admin_url, &[&format!("CREATE DATABASE {name}")])?;
        let url = with_database(admin_url, &name)?;
        Ok(Self { admin_url: admin_url.to_owned(), name, url })
    }

    /// Down: no new connection is accepted and every open one is ended, as when the database's server
    /// stops (each ended connection gets PostgreSQL's FATAL message first). Up: accepting again.
    pub fn set_up(&self, up: bool) -> anyhow::Result<()> {
        let allow = format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {up}", self.name);
        if up {
            return psql(&self.admin_url, &[&allow]);
        }
        let end =
            format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}'", self.name);
        psql(&self.admin_url, &[&allow, &end])
    }

    /// A login role of this run's own on this database, for a connection that must be cut alone.
    pub fn role(&self, suffix: &str) -> anyhow::Result<Role> {
        let name = format!("{}_{suffix}", self.name);
        let password = format!("{name}-password");
        psql(&self.admin_url, &[&format!("DROP ROLE IF EXISTS {name}")])?;
        psql(&self.admin_url, &[&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'")])?;
        let url = with_user(&self.url, &name, &password)?;
        Ok(Role { admin_url: self.admin_url.clone(), name, url })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &[&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

/// A role that can be refused: its open connections ended and new ones refused. Dropped on drop.
#[derive(Debug)]
pub struct Role {
    admin_url: String,
    name: String,
    /// The scratch database, as this role.
    pub url: String,
}

impl Role {
    /// Down: its connections are ended and it may not log in. Up: it may again.
    pub fn set_up(&self, up: bool) -> anyhow::Result<()> {
        let login = format!("ALTER ROLE {} {}", self.name, if up { "LOGIN" } else { "NOLOGIN" });
        if up {
            return psql(&self.admin_url, &[&login]);
        }
        let end =
            format!("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{}'", self.name);
        psql(&self.admin_url, &[&login, &end])
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.set_up(false);
        let _ = psql(&self.admin_url, &[&format!("DROP ROLE IF EXISTS {}", self.name)]);
    }
}

/// Runs each statement on its own (`-c` each), stopping at the first error.
fn psql(url: &str, statements: &[&str]) -> anyhow::Result<()> {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    for sql in statements {
        cmd.args(["-c", sql]);
    }
    let output = cmd.output().context("could not run psql (the scratch database is made and switched with it)")?;
    ensure!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    Ok(())
}

/// `url` with its database name replaced, keeping any query string.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map(|i| i + 3).context("not a postgres:// URL")?;
    let host_part = &base[authority_end..];
    let root = match host_part.find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    })
}

/// `url` with its user and password replaced.
fn with_user(url: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("not a postgres:// URL")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = rest[..end].rsplit_once('@').map_or(&rest[..end], |(_, h)| h);
    Ok(format!("{scheme}://{user}:{password}@{host}{}", &rest[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h:5432", "b").unwrap(), "postgresql://h:5432/b");
        assert!(with_database("no-scheme", "b").is_err());
    }

    #[test]
    fn with_user_replaces_only_the_credentials() {
        assert_eq!(
            with_user("postgres://postgres@127.0.0.1:5432/x", "r", "p").unwrap(),
            "postgres://r:p@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_user("postgres://u:q@h/db?sslmode=disable", "r", "p").unwrap(),
            "postgres://r:p@h/db?sslmode=disable"
        );
        assert_eq!(with_user("postgres://h:5432/db", "r", "p").unwrap(), "postgres://r:p@h:5432/db");
    }
}
