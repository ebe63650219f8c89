//! Database failures reach the caller as the service's own errors: a missing row is `NotFound` (404) and
//! a refused unique key is `Conflict` (409), on both backends, never `Internal` (500).

use latchkey_db::models::{NewUser, UserChanges};
use latchkey_db::repo::users;
use latchkey_db::testing::TestDb;
use latchkey_db::{Id, Ts};
use latchkey_service::ServiceError;
use latchkey_service::error::{ALREADY_EXISTS, ConflictKind, NOT_FOUND};

use crate::t0;

fn user(email: &str) -> NewUser {
    NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.into(),
        password_hash: None,
        first_name: "E".into(),
        last_name: None,
        phone_number: None,
        is_active: true,
        is_superuser: false,
        preferences: None,
        locale: None,
        created_at: Ts(t0()),
        updated_at: Ts(t0()),
    }
}

#[test]
fn a_taken_unique_key_is_a_conflict_and_a_missing_row_is_not_found() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        users::create(&mut conn, &user("taken@example.com")).unwrap();
        let err = ServiceError::from(users::create(&mut conn, &user("taken@example.com")).unwrap_err());
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
