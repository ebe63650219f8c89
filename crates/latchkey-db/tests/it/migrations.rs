//! Migrations: the PostgreSQL and SQLite trees mirror each other, every migration has a down, and up → down → up works on both backends.

use std::collections::BTreeSet;
use std::path::Path;

use latchkey_db::migrations;
use latchkey_testkit::TestDb;

fn folder_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn migration_trees_mirror_each_other_and_every_migration_has_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let pg = folder_names(&root.join("postgres"));
    let sqlite = folder_names(&root.join("sqlite"));
    assert!(!pg.is_empty(), "no migrations found");
    assert_eq!(pg, sqlite, "migrations/postgres and migrations/sqlite must have the same folders");
    for tree in ["postgres", "sqlite"] {
        for name in &pg {
            for file in ["up.sql", "down.sql"] {
                let path = root.join(tree).join(name).join(file);
                let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
                assert!(!text.trim().is_empty(), "{} is empty", path.display());
            }
        }
    }
    let (embedded_pg, embedded_sqlite) = migrations::embedded_names().unwrap();
    assert_eq!(embedded_pg, embedded_sqlite);
    assert_eq!(embedded_pg.len(), pg.len());
}

#[test]
fn up_down_up_works_on_every_backend() {
    for t in TestDb::all() {
        let mut conn = t.db.conn().unwrap();
        assert!(migrations::pending(&mut conn).unwrap().is_empty(), "{}: fresh db has pending migrations", t.label);
        migrations::revert_all(&mut conn).unwrap();
        let pending = migrations::pending(&mut conn).unwrap();
        assert!(!pending.is_empty(), "{}: revert_all left nothing pending", t.label);
        let applied = migrations::run_pending(&mut conn).unwrap();
        assert_eq!(applied, pending, "{}", t.label);
        assert!(migrations::pending(&mut conn).unwrap().is_empty());
        // The schema works after the round trip.
        latchkey_testkit::rows::create_user(&mut conn, "roundtrip@example.com", latchkey_testkit::t0());
    }
}
