//! The `latchkey` binary's commands, end to end, on both backends.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use latchkey_db::migrations;
use latchkey_db::repo::users;
use latchkey_testkit::TestDb;

const KEY: &str = "cli-test-secret-key-0123456789abcdefghij";

fn latchkey(url: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.args(args)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("SECRET_KEY", KEY)
        .env("PORT", "0")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run latchkey");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn serve_refuses_pending_migrations_and_migrate_applies_them() {
    for t in TestDb::all() {
        migrations::revert_all(&mut t.db.conn().unwrap()).unwrap();
        let out = latchkey(&t.url, &["serve"], &[("AUTO_MIGRATE", "false")], None);
        assert_eq!(out.status.code(), Some(1), "{}", t.label);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pending migration") && stderr.contains("latchkey migrate"), "{stderr}");

        let out = latchkey(&t.url, &["migrate"], &[], None);
        assert!(out.status.success(), "{}: {}", t.label, String::from_utf8_lossy(&out.stderr));
        assert!(migrations::pending(&mut t.db.conn().unwrap()).unwrap().is_empty());
    }
}

#[test]
fn create_superuser_reads_the_password_from_stdin() {
    for t in TestDb::all() {
        let args = ["create-superuser", "--email", "Root@Example.com", "--password-stdin"];
        let out = latchkey(&t.url, &args, &[], Some("Sup3r-Secret-Pass!\n"));
        assert!(out.status.success(), "{}: {}", t.label, String::from_utf8_lossy(&out.stderr));
        let user = users::find_by_email(&mut t.db.conn().unwrap(), "root@example.com").unwrap().unwrap();
        assert!(user.is_superuser && user.is_active);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("Sup3r-Secret-Pass!"), "the password is never logged");

        let again = latchkey(&t.url, &args, &[], Some("Sup3r-Secret-Pass!\n"));
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

        let weak = latchkey(
            &t.url,
            &["create-superuser", "--email", "b@example.com", "--password-stdin"],
            &[],
            Some("weak\n"),
        );
        assert_eq!(weak.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));
    }
}

#[test]
fn bad_configuration_exits_2_with_the_variable_named() {
    let out = latchkey("sqlite://x.db", &["migrate"], &[("PORT", "eighty")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT"));
    let out = latchkey("sqlite://x.db", &["migrate"], &[("ENVIRONMENT", "production"), ("SECRET_KEY", "short")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SECRET_KEY"));
}

#[test]
fn openapi_prints_the_served_document_without_any_configuration() {
    // A configuration that would not start a server: the document must not need one.
    let out = latchkey("mysql://nowhere", &["openapi"], &[("PORT", "eighty")], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let served: serde_json::Value = serde_json::from_str(latchkey_http::routes::docs::json()).unwrap();
    assert_eq!(printed, served);
}

#[test]
fn serve_refuses_a_wildcard_cors_origin_with_a_clear_message() {
    // Configuration is read before any database is touched, so one backend is enough.
    let t = TestDb::sqlite();
    let out = latchkey(&t.url, &["serve"], &[("BACKEND_CORS_ORIGINS", "*")], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BACKEND_CORS_ORIGINS") && stderr.contains("wildcard"), "{stderr}");
    assert!(!stderr.contains("Can not start server service"), "{stderr}");
}

#[test]
fn bad_values_are_worded_as_before_whichever_way_they_come() {
    let out = latchkey("sqlite://x.db", &["migrate"], &[("PORT", "eighty")], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "latchkey: configuration error: PORT must be a whole number from 0 to 65535, got 'eighty'"
    );
    // A flag is read by the same declaration.
    let out = latchkey("sqlite://x.db", &["migrate", "--port", "eighty"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT must be a whole number"));
}

#[test]
fn blank_variables_count_as_unset() {
    let t = TestDb::sqlite();
    let blank = [("GEOIP_DATABASE", ""), ("TRUSTED_PROXIES", ""), ("WORKERS", "  "), ("PUBLIC_URL", " ")];
    let out = latchkey(&t.url, &["migrate"], &blank, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn serve_help_lists_every_setting_and_no_secret_value() {
    let secrets = [
        ("SMTP_URL", "smtps://u:smtp-pass-41@mail.example.com"),
        ("SESSION_CACHE_LISTEN_URL", "postgres://u:listen-pass-42@primary/db"),
        ("FIRST_SUPERUSER_PASSWORD", "first-pass-43"),
    ];
    let out = latchkey("postgres://u:db-pass-40@h/db", &["serve", "--help"], &secrets, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let help = String::from_utf8(out.stdout).unwrap();
    for secret in [KEY, "db-pass-40", "smtp-pass-41", "listen-pass-42", "first-pass-43"] {
        assert!(!help.contains(secret), "{secret} shown:\n{help}");
    }
    // Every variable `.env.example` names (but the logging filter and what only tests or `create-superuser`
    // read) is a setting `serve` lists, with its variable.
    let example = include_str!("../../../../.env.example");
    let names = example.lines().filter_map(|line| {
        let line = line.trim_start_matches(['#', ' ']);
        let (name, _) = line.split_once('=')?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')).then_some(name)
    });
    let mut listed = 0;
    for name in names.filter(|n| !["RUST_LOG", "LATCHKEY_SUPERUSER_PASSWORD", "LATCHKEY_TEST_POSTGRES_URL"].contains(n))
    {
        assert!(help.contains(&format!("[env: {name}")), "{name} missing:\n{help}");
        listed += 1;
    }
    assert!(listed > 40, "{listed}");
    assert!(help.contains("[default: 8000]") && help.contains("(0–65535"), "{help}");
}
