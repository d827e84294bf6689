//! The gate does no I/O: `src/gate.rs`, `src/gate/*.rs` and every crate module they import
//! (transitively) must not name file, network, process, environment, clock or database APIs.
//! A source scan, so it fails as soon as someone adds such an import.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "std::io",
    "std::process",
    "std::time",
    "std::thread",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "rusqlite",
    "reqwest",
    "octocrab",
    "tokio",
    "include_dir",
    "static mut",
    "thread_local",
    "OnceLock",
    "LazyLock",
];

fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.exists() {
        files.push(single);
    }
    let dir = src.join(module);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut sub: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            // Unit tests may use anything; they are not part of the gate.
            .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
            .collect();
        sub.sort();
        files.extend(sub);
    }
    files
}

/// The forbidden names a source text uses (everything before its first `#[cfg(test)]`).
fn forbidden_in(text: &str) -> Vec<&'static str> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    FORBIDDEN
        .iter()
        .copied()
        .filter(|w| code.contains(w))
        .collect()
}

/// Top-level crate modules a file imports with `crate::name`.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn gate_and_its_imports_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = BTreeSet::new();
    let mut queue = vec!["gate".to_string()];
    let mut problems = Vec::new();
    while let Some(module) = queue.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let files = module_files(&src, &module);
        assert!(!files.is_empty(), "module `{module}` has no source file");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            // Ignore `#[cfg(test)]` tails: everything after the first `#[cfg(test)]`.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for word in forbidden_in(&text) {
                problems.push(format!("{}: uses `{word}`", file.display()));
            }
            for m in crate_imports(code) {
                if m == "policy" {
                    // Only the validated model is pure data; the loader parses bytes but the
                    // gate may only use `policy::model`.
                    if code.contains("crate::policy::")
                        && code
                            .match_indices("crate::policy::")
                            .any(|(i, _)| !code[i + 15..].starts_with("model"))
                    {
                        problems.push(format!(
                            "{}: imports policy beyond policy::model",
                            file.display()
                        ));
                    }
                    queue.push("policy/model".to_string());
                } else if m == "gate" {
                    continue;
                } else {
                    queue.push(m);
                }
            }
        }
    }
    assert!(
        seen.contains("ledger") && seen.contains("money"),
        "scan did not follow imports: {seen:?}"
    );
    assert!(
        problems.is_empty(),
        "the gate must do no I/O:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scan_catches_an_io_import() {
    // The checker itself must be able to fail.
    assert_eq!(forbidden_in("use std::fs::read;\nfn f() {}"), ["std::fs"]);
    assert_eq!(forbidden_in("let t = Utc::now();"), ["Utc::now"]);
    // Test modules may do I/O.
    assert!(forbidden_in("fn f() {}\n#[cfg(test)]\nmod t { use std::fs; }").is_empty());
    assert_eq!(
        crate_imports("use crate::store::Store; crate::money::X").len(),
        2
    );
}
