//! The binary end to end: arguments, the JSON report, exit codes — on SQLite and PostgreSQL.

use std::process::Command;

use latchkey_testkit::TestDb;

fn cleanup(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey-cleanup"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SESSION_RETENTION_DAYS")
        .env_remove("EVENT_RETENTION_DAYS")
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("run latchkey-cleanup")
}

#[test]
fn prints_one_json_report_line_on_every_backend() {
    for t in TestDb::all() {
        for dry in [true, false] {
            let mut args = vec!["--database-url", t.url.as_str(), "--batch-size", "10"];
            if dry {
                args.push("--dry-run");
            }
            let out = cleanup(&args);
            assert!(out.status.success(), "{}: {}", t.label, String::from_utf8_lossy(&out.stderr));
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert_eq!(stdout.lines().count(), 1, "{stdout}");
            let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(report["dry_run"], dry);
            assert_eq!(report["deleted"]["user_sessions"], 0);
            assert_eq!(report["deleted"]["security_events"], 0);
            assert_eq!(report["deleted"]["login_throttle"], 0);
            assert_eq!(report["ok"], true);
            assert_eq!(report["tables"]["user_sessions"], "ok");
            assert!(report["duration_ms"].is_u64());
        }
    }
}

#[test]
fn bad_arguments_exit_2_and_failures_exit_1() {
    assert_eq!(cleanup(&["--batch-size", "0"]).status.code(), Some(2));
    assert_eq!(cleanup(&["--retention-days", "soon"]).status.code(), Some(2));
    assert_eq!(cleanup(&["--database-url", "mysql://h/db"]).status.code(), Some(2));
    // A database without the schema: every table fails, each is reported, and the exit code is 1.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/empty.db", dir.path().display());
    let out = cleanup(&["--database-url", &url]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for table in ["user_sessions", "security_events", "login_throttle"] {
        assert!(stderr.contains(table), "{stderr}");
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["tables"]["security_events"].as_str().unwrap().starts_with("failed: "), "{report}");
}
