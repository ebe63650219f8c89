//! Tidy: the house rules a reviewer would otherwise check by hand, as tests over the repository's files
//! (the rust-analyzer model). No import circle between the modules of a crate; no product function over
//! 59 lines; no file over 800 lines; no committed caches; no reference to a file or note the repository
//! does not hold; every crate, top-level module and xtask command named in `docs/architecture.md`;
//! every module file opening with a `//!` doc comment.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The longest a product function may be, from `fn` to its closing brace.
const MAX_FN_LINES: usize = 59;
/// The longest a Rust file may be, tests included.
const MAX_FILE_LINES: usize = 800;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Files git tracks (committed or staged), relative to the root.
fn tracked() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|p| !p.is_empty() && root().join(p).exists())
        .map(str::to_string)
        .collect()
}

/// The workspace's crates: name → folder.
fn crates() -> BTreeMap<String, PathBuf> {
    let dir = root().join("crates");
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("crates/ exists").flatten() {
        if entry.path().join("Cargo.toml").exists() {
            found.insert(entry.file_name().to_string_lossy().into_owned(), entry.path());
        }
    }
    found
}

/// Sibling modules of one parent that import each other in a circle, per crate, written `a -> b -> a`.
fn module_circles(root: &Path) -> Vec<String> {
    let modules = source::modules(root);
    // parent → (child → children it reaches)
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (here, file) in &modules {
        let code = source::without_tests(&source::blank(&fs::read_to_string(file).unwrap_or_default()));
        for path in source::crate_paths(&code, here) {
            // The module the path lands in: its longest prefix that is a module.
            let there = (0..=path.len()).rev().map(|n| &path[..n]).find(|p| modules.contains_key(*p));
            let Some(there) = there else { continue };
            let common = here.iter().zip(there).take_while(|(a, b)| a == b).count();
            if common < here.len() && common < there.len() {
                edges
                    .entry(here[..common].to_vec())
                    .or_default()
                    .entry(here[common].clone())
                    .or_default()
                    .insert(there[common].clone());
            }
        }
    }
    let mut circles = Vec::new();
    for (parent, graph) in &edges {
        for cycle in cycles(graph) {
            let prefix = parent.iter().map(|p| format!("{p}::")).collect::<String>();
            circles.push(cycle.iter().map(|m| format!("{prefix}{m}")).collect::<Vec<_>>().join(" -> "));
        }
    }
    circles
}

/// One circle through each module that lies on one (the shortest found from it), deduplicated.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for start in graph.keys() {
        // Breadth-first from `start` back to `start`.
        let mut back: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut found = None;
        while let Some(node) = queue.pop_front() {
            for next in graph.get(node).into_iter().flatten() {
                if next == start {
                    found = Some(node);
                    break;
                }
                if !back.contains_key(next) {
                    back.insert(next, node);
                    queue.push_back(next);
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some(mut node) = found else { continue };
        let mut cycle = vec![start.clone()];
        let mut tail = vec![];
        while node != start {
            tail.push(node.clone());
            node = back[node];
        }
        cycle.extend(tail.into_iter().rev());
        cycle.push(start.clone());
        let key: BTreeSet<_> = cycle.iter().cloned().collect();
        if seen.insert(key) {
            out.push(cycle);
        }
    }
    out
}

#[test]
fn no_import_circle_between_the_modules_of_a_crate() {
    let mut circles = Vec::new();
    let mut roots: Vec<(String, PathBuf)> =
        crates().into_iter().map(|(name, dir)| (name, dir.join("src/lib.rs"))).collect();
    roots.push(("xtask".to_string(), root().join("xtask/src/main.rs")));
    for (name, lib) in roots.into_iter().filter(|(_, lib)| lib.exists()) {
        circles.extend(module_circles(&lib).into_iter().map(|c| format!("{name}: {c}")));
    }
    assert!(circles.is_empty(), "modules that import each other in a circle:\n{}", circles.join("\n"));
}

#[test]
fn the_circle_finder_finds_circles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    fs::write(src.join("lib.rs"), "//! x\npub mod a;\npub mod b;\nmod c;\n").expect("write");
    fs::write(src.join("a.rs"), "use crate::{b::B, c};\n").expect("write");
    fs::write(src.join("b.rs"), "pub fn f() { super::c::g(); }\n#[cfg(test)]\nmod t { use crate::a; }\n")
        .expect("write");
    fs::write(src.join("c.rs"), "fn g() { let s = \"crate::a::x\"; crate::b::f() } // crate::a\n").expect("write");
    let circles = module_circles(&src.join("lib.rs"));
    assert_eq!(circles, vec!["b -> c -> b".to_string()], "a -> b, a -> c, b -> c, c -> b");
    fs::write(src.join("c.rs"), "use crate::{b as _, a::{X, Y}};\n").expect("write");
    assert_eq!(
        module_circles(&src.join("lib.rs")),
        vec!["a -> c -> a".to_string(), "b -> c -> b".to_string()],
        "a -> c -> a through a nested use-tree"
    );
}

/// Product source files: every crate's `src/` and `build.rs`, not tests, examples or benches, and not
/// the test kit.
fn product_files() -> Vec<String> {
    tracked()
        .into_iter()
        .filter(|p| p.starts_with("crates/") && p.ends_with(".rs") && p.contains("/src/"))
        .filter(|p| !p.starts_with("crates/latchkey-testkit/"))
        .collect()
}

#[test]
fn no_product_function_over_59_lines() {
    let mut long = Vec::new();
    for file in product_files() {
        let text = fs::read_to_string(root().join(&file)).unwrap_or_default();
        let code = source::without_tests(&source::blank(&text));
        for f in source::long_functions(&code, MAX_FN_LINES) {
            long.push(format!("{file}:{} fn {} is {} lines", f.line, f.name, f.lines));
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", long.join("\n"));
}

#[test]
fn the_function_measure_measures() {
    let code =
        source::blank("fn a() {\n    let s = \"}\";\n}\nfn b(x: [u8; 2]) -> u8 {\n x[0]\n}\ntrait T { fn c(); }\n");
    assert_eq!(
        source::long_functions(&code, 2).iter().map(|f| (f.name.as_str(), f.lines)).collect::<Vec<_>>(),
        [("a", 3), ("b", 3)]
    );
    assert!(source::long_functions(&code, 3).is_empty());
}

#[test]
fn no_file_over_800_lines() {
    let long: Vec<String> = tracked()
        .into_iter()
        .filter(|p| p.ends_with(".rs"))
        .filter_map(|p| {
            let n = fs::read_to_string(root().join(&p)).unwrap_or_default().lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{p}: {n} lines"))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines:\n{}", long.join("\n"));
}

#[test]
fn no_committed_caches_or_build_output() {
    let bad: Vec<String> = tracked()
        .into_iter()
        .filter(|p| {
            p.split('/').any(|seg| {
                matches!(seg, "__pycache__" | "node_modules" | "target" | ".venv" | ".DS_Store" | ".pytest_cache")
            }) || p.ends_with(".pyc")
                || p.ends_with(".orig")
                || p.ends_with(".rej")
        })
        .collect();
    assert!(bad.is_empty(), "caches or build output under version control:\n{}", bad.join("\n"));
}

/// Text files a reader follows references in.
fn text_files() -> Vec<String> {
    let kinds = [".rs", ".md", ".toml", ".py", ".sh", ".lua", ".sql", ".yml", ".yaml"];
    tracked()
        .into_iter()
        .filter(|p| kinds.iter().any(|k| p.ends_with(k)) || p == ".ci/run" || p.starts_with(".env"))
        .filter(|p| !p.starts_with("xtask/tests/tidy/"))
        .collect()
}

#[test]
fn no_reference_to_notes_outside_the_repository() {
    // The team's design notes and issue tracker are not in the repository: a comment pointing at them
    // points nowhere for a reader of the code.
    let outside = ["DESIGN.md", "STYLE.md", "STACK.md", "API.md", "../shared", "issue "];
    let mut bad = Vec::new();
    for file in text_files() {
        for (n, line) in fs::read_to_string(root().join(&file)).unwrap_or_default().lines().enumerate() {
            for word in outside {
                let hit = match word {
                    // "issue 7", "issue 18's": a number after it.
                    "issue " => line.match_indices("issue ").any(|(i, _)| {
                        line[i + 6..].starts_with(|c: char| c.is_ascii_digit())
                            && !line[..i].ends_with(|c: char| c.is_alphanumeric())
                    }),
                    // `docs/api.md` is ours; a bare `API.md` is the notes'.
                    "API.md" => line
                        .match_indices("API.md")
                        .any(|(i, _)| !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '/' || c == '_')),
                    _ => line.contains(word),
                };
                if hit {
                    bad.push(format!("{file}:{}: {word:?}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "references to notes outside the repository:\n{}", bad.join("\n"));
}

/// Backticked things in a Markdown file that look like repository paths (`crates/x/src/y.rs`,
/// `tests/it/docs.rs`, `xtask/scaling/`).
fn backticked_paths(text: &str) -> Vec<String> {
    let exts = [".rs", ".md", ".toml", ".sql", ".py", ".sh", ".lua", ".json"];
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c)))
        .filter(|s| s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') && !s.starts_with("http"))
        .filter(|s| s.contains('/') && (exts.iter().any(|e| s.ends_with(e)) || s.ends_with('/')))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let files = tracked();
    let exists = |p: &str| {
        let p = p.trim_end_matches('/');
        files.iter().any(|f| f == p || f.ends_with(&format!("/{p}")) || f.starts_with(&format!("{p}/")))
            || files.iter().any(|f| f.contains(&format!("/{p}/")))
    };
    let mut bad = Vec::new();
    // Vendored assets' own READMEs describe their upstream package, not this repository.
    for doc in files.iter().filter(|p| p.ends_with(".md") && !p.contains("/assets/")) {
        let text = fs::read_to_string(root().join(doc)).unwrap_or_default();
        for path in backticked_paths(&text) {
            if !exists(&path) {
                bad.push(format!("{doc}: `{path}`"));
            }
        }
    }
    assert!(bad.is_empty(), "paths named in the docs that the repository does not hold:\n{}", bad.join("\n"));
}

/// The part of `docs/architecture.md` that draws `name`'s rooms: from its `### \`name\`` heading to the
/// next heading.
fn crate_section(architecture: &str, name: &str) -> Option<String> {
    let heading = format!("### `{name}`");
    let mut lines = architecture.lines().skip_while(|l| !l.starts_with(&heading));
    let first = lines.next()?;
    let rest: Vec<&str> = lines.take_while(|l| !l.starts_with('#')).collect();
    Some(format!("{first}\n{}", rest.join("\n")))
}

#[test]
fn architecture_names_every_crate_and_top_level_module() {
    let architecture = fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let mut missing = Vec::new();
    for (name, dir) in crates() {
        let Some(row) = crate_section(&architecture, &name) else {
            missing.push(format!("crate {name}: no `### `{name}`` section"));
            continue;
        };
        if !dir.join("src/lib.rs").exists() {
            continue;
        }
        for module in source::modules(&dir.join("src/lib.rs")).keys().filter(|m| m.len() == 1) {
            let m = &module[0];
            let named =
                [format!("`{m}.rs`"), format!("`{m}/`"), format!("`{m}`"), format!("{m}.rs"), format!("`{m}::")]
                    .iter()
                    .any(|form| row.contains(form.as_str()));
            if !named {
                missing.push(format!("crate {name}: module `{m}` not in its section"));
            }
        }
    }
    assert!(missing.is_empty(), "docs/architecture.md is missing:\n{}", missing.join("\n"));
}

#[test]
fn architecture_names_every_xtask_command() {
    let architecture = fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let row = crate_section(&architecture, "xtask").expect("xtask has a section");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).arg("--help").output().expect("xtask --help runs");
    let help = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(!commands.is_empty(), "xtask --help lists its commands:\n{help}");
    let missing: Vec<_> = commands.iter().filter(|c| !row.contains(&format!("`{c}`"))).collect();
    assert!(missing.is_empty(), "xtask commands not in docs/architecture.md's xtask section: {missing:?}");
}

#[test]
fn every_module_file_opens_with_its_doc() {
    let bad: Vec<String> = tracked()
        .into_iter()
        .filter(|p| p.starts_with("crates/") && p.ends_with(".rs"))
        .filter(|p| {
            let text = fs::read_to_string(root().join(p)).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(bad.is_empty(), "files without a `//!` doc comment:\n{}", bad.join("\n"));
}
