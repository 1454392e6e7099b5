//! The shape of `src/` as docs/ARCHITECTURE.md describes it, checked on the
//! source text: dependencies point one way, SQL stays in `store/`, HTTP stays
//! in `http/`, and a club's scope is made in only a few places.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file as (module path, text without comments and tests).
fn modules() -> BTreeMap<String, (PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    let mut out = BTreeMap::new();
    for p in files {
        let rel = p.strip_prefix(src()).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        out.insert(parts.join("::"), (p, code));
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.len() - 1]);
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p))
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// The module files `module` refers to (`crate::…`, `super::…`).
fn references(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut paths = Vec::new();
    for stmt in code.split(';') {
        if let Some(i) = stmt.find("use ") {
            let tree = stmt[i + 4..].trim();
            if tree.starts_with("crate::") || tree.starts_with("super::") {
                paths.extend(expand(tree));
            } else if let Some(rest) = tree.strip_prefix("self::") {
                paths.extend(expand(rest).into_iter().map(|p| format!("self::{p}")));
            } else {
                // `use child::item` names a submodule of this one: a
                // re-export is an edge like any other.
                let first = tree.split("::").next().unwrap_or("");
                let child = if module.is_empty() {
                    first.to_string()
                } else {
                    format!("{module}::{first}")
                };
                if !module.is_empty() && known.contains(&child) {
                    paths.extend(expand(tree).into_iter().map(|p| format!("self::{p}")));
                }
            }
        }
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let end = code[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| i + e);
            paths.push(code[i..end].to_string());
        }
    }
    let mut out = BTreeSet::new();
    for p in paths {
        let mut parts: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<&str> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").collect()
        };
        match parts.first() {
            Some(&"crate") => base.clear(),
            Some(&"self") => {}
            Some(&"super") => {
                base.pop();
                while parts.get(1) == Some(&"super") {
                    parts.remove(0);
                    base.pop();
                }
            }
            _ => continue,
        }
        parts.remove(0);
        let full: Vec<&str> = base.into_iter().chain(parts).collect();
        if let Some(target) = (1..=full.len())
            .rev()
            .map(|k| full[..k].join("::"))
            .find(|c| known.contains(c))
        {
            // The crate root declares every module; a module may name
            // itself. Parents and children count like any other pair.
            if target != module && !module.is_empty() {
                out.insert(target);
            }
        }
    }
    out
}

/// Who refers to whom, from each module's text.
fn graph(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    mods.iter()
        .map(|(m, code)| (m.clone(), references(m, code, &known)))
        .collect()
}

/// A path of modules that leads back to its start, if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    for start in graph.keys() {
        // Depth-first, keeping the path that led to each module.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<Vec<String>> = graph[start]
            .iter()
            .map(|m| vec![start.clone(), m.clone()])
            .collect();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            if last == start {
                return Some(path);
            }
            if seen.insert(last.clone())
                && let Some(next) = graph.get(last)
            {
                for n in next {
                    let mut p = path.clone();
                    p.push(n.clone());
                    stack.push(p);
                }
            }
        }
    }
    None
}

fn source_graph() -> BTreeMap<String, BTreeSet<String>> {
    graph(
        &modules()
            .into_iter()
            .map(|(m, (_, code))| (m, code))
            .collect(),
    )
}

#[test]
fn no_import_circle_anywhere() {
    let graph = source_graph();
    if let Some(path) = find_circle(&graph) {
        panic!("an import circle: {}", path.join(" → "));
    }
}

/// The check itself: a circle closed only through a parent's re-export
/// of its child (`pub(crate) use child::item`) is found.
#[test]
fn a_planted_circle_through_a_re_export_is_found() {
    let planted: BTreeMap<String, String> = [
        ("service", "pub mod orders; pub mod payments;"),
        (
            "service::orders",
            "use crate::service::payments::sync_pending;",
        ),
        (
            "service::payments",
            "mod reconcile; pub(crate) use reconcile::sync_pending;",
        ),
        (
            "service::payments::reconcile",
            "pub fn sync_pending() { crate::service::orders::expire() }",
        ),
    ]
    .into_iter()
    .map(|(m, c)| (m.to_string(), c.to_string()))
    .collect();
    let path = find_circle(&graph(&planted)).expect("the planted circle");
    assert!(
        path.contains(&"service::payments::reconcile".to_string()),
        "{path:?}"
    );
    // Without the re-export there is none.
    let mut cut = planted.clone();
    cut.insert("service::payments".into(), "mod reconcile;".into());
    assert_eq!(find_circle(&graph(&cut)), None);
}

#[test]
fn layers_point_down() {
    // Nothing below `service` reaches up into it or into the wiring.
    for (m, refs) in &source_graph() {
        let lower = ["model", "store", "wechat", "error", "state", "cache"]
            .iter()
            .any(|l| m == l || m.starts_with(&format!("{l}::")));
        for r in refs {
            let upper = ["service", "http", "app", "cli", "jobs"]
                .iter()
                .any(|u| r == u || r.starts_with(&format!("{u}::")));
            assert!(!(lower && upper), "{m} depends on {r}, a layer above it");
        }
    }
}

fn files_under(dirs: &[&str]) -> Vec<(String, String)> {
    modules()
        .into_iter()
        .filter(|(m, _)| {
            dirs.iter()
                .any(|d| m == d || m.starts_with(&format!("{d}::")))
        })
        .map(|(m, (_, code))| (m, code))
        .collect()
}

#[test]
fn http_types_stay_in_http() {
    for (m, code) in files_under(&[
        "service", "model", "store", "wechat", "state", "error", "jobs",
    ]) {
        for word in ["axum", "StatusCode"] {
            assert!(!code.contains(word), "{m} mentions {word}");
        }
    }
}

#[test]
fn handlers_and_commands_go_through_services() {
    // They may hold the database handle (`Store`), never its functions.
    for (m, code) in files_under(&["http", "cli"]) {
        for (i, _) in code.match_indices("crate::store::") {
            let next = &code[i + "crate::store::".len()..];
            assert!(
                next.starts_with("Store;") || next.starts_with("Store,"),
                "{m} reaches into the store: {}",
                &next[..next.len().min(40)]
            );
        }
    }
}

#[test]
fn sql_stays_in_store() {
    let others: Vec<_> = modules()
        .into_iter()
        .filter(|(m, _)| !(m == "store" || m.starts_with("store::")))
        .collect();
    for (m, (_, code)) in others {
        for sql in [
            "SELECT ",
            "INSERT INTO",
            "DELETE FROM",
            "UPDATE ",
            "PRAGMA ",
        ] {
            assert!(!code.contains(&format!("\"{sql}")), "{m} holds SQL ({sql})");
        }
    }
}

#[test]
fn tenant_scope_is_made_only_where_a_club_is_vouched_for() {
    let allowed = [
        "http::guards",
        "service::catalog",
        "service::admin::admins",
        "service::demo",
        "cli",
        "model::scope",
    ];
    for (m, (_, code)) in modules() {
        if code.contains("TenantScope::vouched(") {
            assert!(allowed.contains(&m.as_str()), "{m} makes a TenantScope");
        }
    }
}

/// docs/ARCHITECTURE.md's jobs table names every registered job, and no
/// other.
#[test]
fn the_jobs_table_lists_every_job() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"))
            .unwrap();
    let table = doc
        .split("## Jobs")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let registered: BTreeSet<&str> = standup_tickets::jobs::JOBS.iter().map(|j| j.name).collect();
    assert_eq!(listed, registered);
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, other
/// punctuation dropped.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every link in README.md and docs/ names a file of this repository (and,
/// with `#…`, one of its headings): nothing points outside, where a clone
/// would find nothing.
#[test]
fn doc_links_stay_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(p);
        }
    }
    let headings = |p: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('#') && l.contains("# "))
            .map(|l| anchor_of(l.trim_start_matches('#')))
            .collect()
    };
    let mut checked = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').unwrap()];
            assert!(
                !target.contains("://") && !target.starts_with("mailto:"),
                "{} links outside the repository: {target}",
                doc.display()
            );
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            let file = file
                .canonicalize()
                .unwrap_or_else(|_| panic!("{} links to a missing {target}", doc.display()));
            assert!(
                file.starts_with(root.canonicalize().unwrap()),
                "{} links outside the repository: {target}",
                doc.display()
            );
            if !anchor.is_empty() {
                assert!(
                    headings(&file).contains(anchor),
                    "{} links to a missing heading: {target}",
                    doc.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} links found");
}

#[test]
fn the_readme_is_short() {
    let readme = include_str!("../../README.md");
    let lines = readme.lines().count();
    assert!(lines <= 200, "README.md has {lines} lines (at most 200)");
}
