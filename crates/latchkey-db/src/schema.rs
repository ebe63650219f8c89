//! Diesel's view of the tables in `migrations/`. Kept by hand: the SQL types come from `crate::types::sql`
//! so one schema serves both backends.

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{Jsonb, TimestampUtc, Uuid};

    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        first_name -> Text,
        last_name -> Nullable<Text>,
        phone_number -> Nullable<Text>,
        is_active -> Bool,
        is_superuser -> Bool,
        preferences -> Nullable<Jsonb>,
        locale -> Nullable<Text>,
        deleted_at -> Nullable<TimestampUtc>,
        created_at -> TimestampUtc,
        updated_at -> TimestampUtc,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{TimestampUtc, Uuid};

    user_sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        refresh_token_jti -> Text,
        previous_refresh_jti -> Nullable<Text>,
        rotated_at -> Nullable<TimestampUtc>,
        device_name -> Nullable<Text>,
        device_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        last_used_at -> TimestampUtc,
        expires_at -> TimestampUtc,
        absolute_expires_at -> TimestampUtc,
        is_active -> Bool,
        revoked_at -> Nullable<TimestampUtc>,
        revoked_reason -> Nullable<Text>,
        location_city -> Nullable<Text>,
        location_country -> Nullable<Text>,
        created_at -> TimestampUtc,
        updated_at -> TimestampUtc,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{Jsonb, TimestampUtc, Uuid};

    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        is_active -> Bool,
        settings -> Nullable<Jsonb>,
        created_at -> TimestampUtc,
        updated_at -> TimestampUtc,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{TimestampUtc, Uuid};

    user_organizations (user_id, organization_id) {
        user_id -> Uuid,
        organization_id -> Uuid,
        role -> Text,
        is_active -> Bool,
        custom_permissions -> Nullable<Text>,
        created_at -> TimestampUtc,
        updated_at -> TimestampUtc,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{Jsonb, TimestampUtc, Uuid};

    security_events (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        session_id -> Nullable<Uuid>,
        kind -> Text,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        device_name -> Nullable<Text>,
        detail -> Nullable<Jsonb>,
        occurred_at -> TimestampUtc,
        actor_id -> Nullable<Uuid>,
        organization_id -> Nullable<Uuid>,
        device_id -> Nullable<Text>,
        location_city -> Nullable<Text>,
        location_country -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::TimestampUtc;

    login_throttle (account_key) {
        account_key -> Text,
        window_start -> TimestampUtc,
        attempts -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{TimestampUtc, Uuid};

    account_logins (user_id) {
        user_id -> Uuid,
        first_login_at -> TimestampUtc,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::types::sql::{TimestampUtc, Uuid};

    not_me_answers (alert_id) {
        alert_id -> Uuid,
        user_id -> Uuid,
        session_id -> Uuid,
        answered_at -> TimestampUtc,
    }
}

diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(security_events -> users (user_id));
diesel::joinable!(user_organizations -> users (user_id));
diesel::joinable!(user_organizations -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(users, user_sessions, organizations, user_organizations, security_events);
