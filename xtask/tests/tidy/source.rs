//! Rust source read just well enough for the tidy checks: comments and literals blanked, `#[cfg(test)]`
//! items cut, module files mapped to module paths, `crate::`/`super::`/`self::` paths resolved, and
//! function bodies measured.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Source with comments and the insides of string and char literals replaced by spaces, newlines kept,
/// so that every byte offset and line number still matches the file.
pub fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
                wipe(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < b.len() && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 1;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 1;
                    }
                    j += 1;
                }
                wipe(&mut out, i, j);
                i = j;
            }
            b'r' | b'b' if raw_string_start(b, i).is_some() => {
                let (open, hashes) = raw_string_start(b, i).expect("checked");
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let end = b[open + 1..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(b.len(), |p| open + 1 + p);
                wipe(&mut out, open + 1, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                wipe(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('a', '\n', '\u{..}'), else a lifetime or label ('a, 'static).
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..].iter().position(|&c| c == b'\'').map(|p| i + 2 + p)
                } else {
                    let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
                };
                match end {
                    Some(end) => {
                        wipe(&mut out, i + 1, end);
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// `r"`, `r#"`, `br"`, … at `i` (not inside an identifier): the offset of the opening quote and the
/// number of `#`s.
fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let mut j = i;
    if b[j] == b'b' {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    (b.get(j + hashes) == Some(&b'"')).then_some((j + hashes, hashes))
}

/// The blanked source with every item under `#[cfg(test)]` blanked too (test modules and test-only
/// helpers are not product code, and may use anything).
pub fn without_tests(code: &str) -> String {
    let mut out = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        let end = item_end(code.as_bytes(), start + "#[cfg(test)]".len());
        for c in &mut out[start..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The end of the item starting at `i`: after its matching `}` or its `;`, whichever comes first at
/// depth zero.
fn item_end(b: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(i) {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && c == b'}' {
                    return j + 1;
                }
            }
            b';' if depth == 0 => return j + 1,
            _ => {}
        }
    }
    b.len()
}

/// A crate's module files: module path (without `crate`) → file. Follows `mod x;` declarations from the
/// crate's root file (`lib.rs` or `main.rs`), so only modules that are compiled count; `#[cfg(test)]`
/// modules are skipped.
pub fn modules(root: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let src = root.parent().unwrap_or(root);
    walk(src, root, Vec::new(), &mut found);
    found
}

fn walk(src: &Path, file: &Path, path: Vec<String>, found: &mut BTreeMap<Vec<String>, PathBuf>) {
    let Ok(text) = fs::read_to_string(file) else { return };
    let code = without_tests(&blank(&text));
    // Where a child `mod x;` lives: next to lib.rs/mod.rs, else in the folder named after this file.
    let dir = if path.is_empty() || file.ends_with("mod.rs") {
        file.parent().unwrap_or(src).to_path_buf()
    } else {
        file.with_extension("")
    };
    for name in declared_modules(&code) {
        let mut child = path.clone();
        child.push(name.clone());
        let flat = dir.join(format!("{name}.rs"));
        let nested = dir.join(&name).join("mod.rs");
        let child_file = if flat.exists() { flat } else { nested };
        walk(src, &child_file, child, found);
    }
    found.insert(path, file.to_path_buf());
}

/// The names in `mod x;` / `pub mod x;` / `pub(crate) mod x;` lines (out-of-line modules only).
fn declared_modules(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_suffix(';')?;
            let rest = rest.split_whitespace().collect::<Vec<_>>();
            match rest.as_slice() {
                ["mod", name] => Some((*name).to_string()),
                [vis, "mod", name] if vis.starts_with("pub") => Some((*name).to_string()),
                _ => None,
            }
        })
        .collect()
}

/// Every path the module at `here` names through `crate::`, `super::` or `self::`, resolved to a full
/// path from the crate root (use-trees expanded).
pub fn crate_paths(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let is_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':');
        let rest = &code[i..];
        let base: Option<Vec<String>> = if !is_start {
            None
        } else if rest.starts_with("crate::") {
            Some(Vec::new())
        } else if rest.starts_with("self::") {
            Some(here.to_vec())
        } else if rest.starts_with("super::") {
            Some(here[..here.len().saturating_sub(1)].to_vec())
        } else {
            None
        };
        match base {
            Some(base) => {
                let (tree, end) = parse_tree(b, i);
                expand(&tree, base, here, &mut paths);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    paths
}

#[derive(Debug)]
enum Tree {
    Segment(String, Option<Box<Tree>>),
    Group(Vec<Tree>),
}

/// Parses `a::b::{c, d::e}` starting at `i`; returns the tree and the offset after it.
fn parse_tree(b: &[u8], mut i: usize) -> (Tree, usize) {
    skip_space(b, &mut i);
    if b.get(i) == Some(&b'{') {
        i += 1;
        let mut items = Vec::new();
        loop {
            skip_space(b, &mut i);
            match b.get(i) {
                None => break,
                Some(b'}') => {
                    i += 1;
                    break;
                }
                Some(b',') => i += 1,
                Some(_) => {
                    let before = i;
                    let (t, end) = parse_tree(b, i);
                    items.push(t);
                    i = end;
                    if i == before {
                        i += 1;
                    }
                }
            }
        }
        return (Tree::Group(items), i);
    }
    let start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'*') {
        i += 1;
    }
    let name = String::from_utf8_lossy(&b[start..i]).into_owned();
    if b[i..].starts_with(b"::") {
        let (next, end) = parse_tree(b, i + 2);
        (Tree::Segment(name, Some(Box::new(next))), end)
    } else {
        (Tree::Segment(name, None), i)
    }
}

fn skip_space(b: &[u8], i: &mut usize) {
    while *i < b.len() && b[*i].is_ascii_whitespace() {
        *i += 1;
    }
}

fn expand(tree: &Tree, mut at: Vec<String>, here: &[String], out: &mut Vec<Vec<String>>) {
    match tree {
        Tree::Group(items) => {
            for t in items {
                expand(t, at.clone(), here, out);
            }
        }
        Tree::Segment(name, next) => {
            match name.as_str() {
                "crate" => at.clear(),
                "super" => {
                    at.pop();
                }
                "self" if at.is_empty() && next.is_some() => at = here.to_vec(),
                "self" | "*" | "" => {}
                other => at.push(other.to_string()),
            }
            match next {
                Some(t) => expand(t, at, here, out),
                None => out.push(at),
            }
        }
    }
}

/// The `{` opening the body of the function declared at `at`, or `None` for a declaration without one
/// (a `;` outside brackets: `[u8; 32]` is a type, not the end).
fn body_start(b: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(at) {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' if depth == 0 => return Some(j),
            b';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// A function whose body spans more than `max` lines: where it starts and how long it is.
#[derive(Debug)]
pub struct LongFn {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// Functions (with bodies) longer than `max` lines, from `fn` to the closing brace.
pub fn long_functions(code: &str, max: usize) -> Vec<LongFn> {
    let b = code.as_bytes();
    let mut long = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("fn ") {
        let at = from + p;
        from = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let name: String =
            code[at + 3..].trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if name.is_empty() {
            continue; // `fn(` types
        }
        let Some(open) = body_start(b, at) else { continue };
        let close = item_end(b, open);
        let first = code[..at].matches('\n').count() + 1;
        let last = code[..close].matches('\n').count() + 1;
        if last - first + 1 > max {
            long.push(LongFn { name, line: first, lines: last - first + 1 });
        }
    }
    long
}
