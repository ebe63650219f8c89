//! Database failures reach the caller as the service's own errors: a missing row is `NotFound` (404) and
//! a refused unique key is `Conflict` (409), on both backends, never `Internal` (500).

use latchkey_db::models::UserChanges;
use latchkey_db::repo::users;
use latchkey_service::ServiceError;
use latchkey_service::error::{ALREADY_EXISTS, ConflictKind, NOT_FOUND};
use latchkey_testkit::{TestDb, rows, t0};

#[test]
fn a_taken_unique_key_is_a_conflict_and_a_missing_row_is_not_found() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        users::create(&mut conn, &rows::user("taken@example.com", t0())).unwrap();
        let err = ServiceError::from(users::create(&mut conn, &rows::user("taken@example.com", t0())).unwrap_err());
        assert!(
            matches!(&err, ServiceError::Conflict { kind: ConflictKind::Other, message, field: None } if message == ALREADY_EXISTS),
            "{}: {err:?}",
            t.label
        );

        let changes = UserChanges { first_name: Some("X".into()), ..UserChanges::default() };
        let err = ServiceError::from(users::update(&mut conn, uuid::Uuid::new_v4(), &changes).unwrap_err());
        assert!(matches!(&err, ServiceError::NotFound(message) if message == NOT_FOUND), "{}: {err:?}", t.label);
    }
}
