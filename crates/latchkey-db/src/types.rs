//! SQL types that diesel's `MultiConnection` does not carry natively, and the bind newtypes for them.
//!
//! PostgreSQL stores native `uuid`, `timestamptz` and `jsonb`; SQLite stores hyphenated text, fixed-width
//! `YYYY-MM-DD HH:MM:SS.ffffff+00:00` text (which sorts like the instant it names) and JSON text.
//! Values are bound through newtypes (`Id`, `Ts`, `Json`) because `AsExpression` on foreign types would hit
//! the orphan rule.

use std::io::Write as _;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::HasSqlType;
use diesel::sqlite::Sqlite;

use crate::connection::MultiBackend;

/// The SQL types used in `schema.rs`.
pub mod sql {
    use diesel::query_builder::QueryId;
    use diesel::sql_types::SqlType;

    /// `uuid` on PostgreSQL, `TEXT` on SQLite.
    #[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
    #[diesel(postgres_type(oid = 2950, array_oid = 2951))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Uuid;

    /// `timestamptz` on PostgreSQL, `TEXT` on SQLite.
    #[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
    #[diesel(postgres_type(oid = 1184, array_oid = 1185))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct TimestampUtc;

    /// `jsonb` on PostgreSQL, `TEXT` on SQLite.
    #[derive(Debug, Clone, Copy, Default, SqlType, QueryId)]
    #[diesel(postgres_type(oid = 3802, array_oid = 3807))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Jsonb;
}

/// A UUID as bound to and read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql::Uuid)]
pub struct Id(pub uuid::Uuid);

/// A UTC instant as bound to and read from the database, always at microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql::TimestampUtc)]
pub struct Ts(pub DateTime<Utc>);

/// A JSON document as bound to and read from the database.
#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = sql::Jsonb)]
pub struct Json(pub serde_json::Value);

impl From<uuid::Uuid> for Id {
    fn from(id: uuid::Uuid) -> Self {
        Id(id)
    }
}

impl From<DateTime<Utc>> for Ts {
    fn from(t: DateTime<Utc>) -> Self {
        Ts(t)
    }
}

const SQLITE_TS_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f+00:00";

fn sqlite_text<'a>(bytes: <Sqlite as Backend>::RawValue<'a>) -> deserialize::Result<String> {
    <String as FromSql<diesel::sql_types::Text, Sqlite>>::from_sql(bytes)
}

// --- Id -------------------------------------------------------------------------------------------

impl ToSql<sql::Uuid, Pg> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <uuid::Uuid as ToSql<diesel::sql_types::Uuid, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<sql::Uuid, Pg> for Id {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <uuid::Uuid as FromSql<diesel::sql_types::Uuid, Pg>>::from_sql(bytes).map(Id)
    }
}

impl ToSql<sql::Uuid, Sqlite> for Id {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Uuid, Sqlite> for Id {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = sqlite_text(bytes)?;
        Ok(Id(uuid::Uuid::parse_str(&text)?))
    }
}

// --- Ts -------------------------------------------------------------------------------------------

impl ToSql<sql::TimestampUtc, Pg> for Ts {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<diesel::sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<sql::TimestampUtc, Pg> for Ts {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<diesel::sql_types::Timestamptz, Pg>>::from_sql(bytes).map(Ts)
    }
}

impl ToSql<sql::TimestampUtc, Sqlite> for Ts {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.format(SQLITE_TS_FORMAT).to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<sql::TimestampUtc, Sqlite> for Ts {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = sqlite_text(bytes)?;
        parse_sqlite_ts(&text).map(Ts)
    }
}

/// Parses the SQLite text form; also accepts the `CURRENT_TIMESTAMP` form and RFC 3339, so rows written
/// by hand (or by other tools) still load.
fn parse_sqlite_ts(text: &str) -> deserialize::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")?;
    Ok(naive.and_utc())
}

// --- Json -----------------------------------------------------------------------------------------

impl ToSql<sql::Jsonb, Pg> for Json {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // jsonb's binary format is a version byte followed by the JSON text.
        out.write_all(&[1])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Jsonb, Pg> for Json {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        match bytes.as_bytes() {
            [1, rest @ ..] => Ok(Json(serde_json::from_slice(rest)?)),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl ToSql<sql::Jsonb, Sqlite> for Json {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(serde_json::to_string(&self.0)?);
        Ok(IsNull::No)
    }
}

impl FromSql<sql::Jsonb, Sqlite> for Json {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Json(serde_json::from_str(&sqlite_text(bytes)?)?))
    }
}

// --- MultiBackend glue (see the `MultiConnection` derive docs) ------------------------------------

macro_rules! multi_backend_type {
    ($sql:ty => $rust:ty) => {
        impl HasSqlType<$sql> for MultiBackend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                MultiBackend::lookup_sql_type::<$sql>(lookup)
            }
        }

        impl FromSql<$sql, MultiBackend> for $rust {
            fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                bytes.from_sql::<$rust, $sql>()
            }
        }

        impl ToSql<$sql, MultiBackend> for $rust {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((<$sql>::default(), self));
                Ok(IsNull::No)
            }
        }
    };
}

multi_backend_type!(sql::Uuid => Id);
multi_backend_type!(sql::TimestampUtc => Ts);
multi_backend_type!(sql::Jsonb => Json);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_timestamp_text_sorts_like_time() {
        let a = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let b = a + chrono::Duration::microseconds(1);
        let c = a + chrono::Duration::days(400);
        let fa = a.format(SQLITE_TS_FORMAT).to_string();
        let fb = b.format(SQLITE_TS_FORMAT).to_string();
        let fc = c.format(SQLITE_TS_FORMAT).to_string();
        assert!(fa < fb && fb < fc);
        assert_eq!(parse_sqlite_ts(&fb).unwrap(), b);
    }

    #[test]
    fn sqlite_timestamp_parses_other_forms() {
        let t = parse_sqlite_ts("2026-01-01 10:00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-01T10:00:00+00:00");
        assert!(parse_sqlite_ts("2026-01-01T10:00:00Z").is_ok());
        assert!(parse_sqlite_ts("yesterday").is_err());
    }
}
