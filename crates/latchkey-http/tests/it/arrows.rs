//! The crate arrows of docs/architecture.md, checked with `cargo tree`: `http → service → {db, auth} → domain`,
//! `cleanup → service`; domain never sees diesel or actix, cleanup never sees actix, http never uses db (or diesel)
//! directly.

use std::process::Command;

fn normal_deps(package: &str) -> String {
    tree(package, &[])
}

/// The crates `package` depends on itself (normal dependencies, not through another crate).
fn direct_deps(package: &str) -> Vec<String> {
    let tree = tree(package, &["--depth", "1"]);
    // The first line is the package itself.
    crates_in(&tree).into_iter().skip(1).collect()
}

fn tree(package: &str, extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "--format", "{p}", "-p", package])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn crates_in(tree: &str) -> Vec<String> {
    tree.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect()
}

#[test]
fn domain_has_no_diesel_actix_or_tokio() {
    let deps = crates_in(&normal_deps("latchkey-domain"));
    for banned in ["diesel", "actix-web", "actix-rt", "tokio", "latchkey-db", "latchkey-auth", "latchkey-service"] {
        assert!(!deps.iter().any(|d| d == banned), "latchkey-domain depends on {banned}");
    }
}

#[test]
fn lower_layers_never_see_actix() {
    for package in ["latchkey-db", "latchkey-auth", "latchkey-service", "latchkey-cleanup"] {
        let deps = crates_in(&normal_deps(package));
        for banned in ["actix-web", "actix-http", "latchkey-http"] {
            assert!(!deps.iter().any(|d| d == banned), "{package} depends on {banned}");
        }
    }
}

#[test]
fn db_and_auth_do_not_depend_on_each_other_or_upwards() {
    let db = crates_in(&normal_deps("latchkey-db"));
    assert!(!db.iter().any(|d| d == "latchkey-auth" || d == "latchkey-service"));
    let auth = crates_in(&normal_deps("latchkey-auth"));
    assert!(!auth.iter().any(|d| d == "latchkey-db" || d == "diesel" || d == "latchkey-service"));
}

#[test]
fn http_reaches_the_database_only_through_the_service() {
    let direct = direct_deps("latchkey-http");
    assert!(direct.iter().any(|d| d == "latchkey-service"), "{direct:?}");
    for banned in ["latchkey-db", "diesel", "diesel_migrations", "r2d2"] {
        assert!(!direct.iter().any(|d| d == banned), "latchkey-http depends on {banned} directly: {direct:?}");
    }
}
