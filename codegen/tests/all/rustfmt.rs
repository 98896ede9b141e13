//! The generated Rust is already what rustfmt writes: `rustfmt --check` with the
//! repository's `rustfmt.toml` finds nothing to change in the output for any fixture
//! module (public items, and with private items; procedures included), nor in the output for the same modules
//! with every name shortened or lengthened, which moves each length-dependent construct
//! across the width at which rustfmt breaks it.

use super::{codegen_dir, fixture_json, module_def_from_json, scratch_dir, MODULES};
use spacetime_codegen::{generate, Options, Rust};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// The Python-only fixture with options of options, which Rust generates too.
const NESTED_OPTIONS: &str = "../golden/python/nested-options";
/// The module with procedures, whose calls have their own layout.
const PROCEDURES: &str = "procedures";
/// The module with views, generated as table handles.
const VIEWS: &str = "views";

/// Strings in a module definition that are not the module's own names: the variants of
/// the special types (options, results, `ScheduleAt`) and the special types' field names.
fn is_fixed_name(s: &str) -> bool {
    s.starts_with("__") || ["some", "none", "ok", "err", "Time", "Interval"].contains(&s)
}

/// `json` with every name of the module replaced by `rename(name)`, the same name always
/// by the same replacement so that references between items still resolve. Values of
/// column defaults (`value`) are data, not names, and stay.
fn rename_all(json: &serde_json::Value, rename: &mut dyn FnMut(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match json {
        Value::String(s) if !is_fixed_name(s) => Value::String(rename(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rename_all(v, rename)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let v = if k == "value" { v.clone() } else { rename_all(v, rename) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Each fixture as it is, with short names (`q0`, `q1`, …) and with names lengthened.
fn variants() -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for &module in MODULES.iter().chain([&NESTED_OPTIONS, &PROCEDURES, &VIEWS]) {
        let name = module.rsplit('/').next().unwrap_or(module);
        let json = fixture_json(module);
        let mut short = BTreeMap::new();
        let shortened = rename_all(&json, &mut |s| {
            let next = format!("q{}", short.len());
            short.entry(s.to_owned()).or_insert(next).clone()
        });
        out.push((format!("{name}_short"), shortened));
        for times in [1, 2, 3] {
            let lengthened = rename_all(&json, &mut |s| format!("{s}{}", "_lengthened".repeat(times)));
            out.push((format!("{name}_long{times}"), lengthened));
        }
        out.push((name.replace('-', "_"), json));
    }
    out
}

#[test]
fn generated_rust_is_rustfmt_clean() {
    let repo = codegen_dir().join("..").canonicalize().expect("repository root");
    let config = repo.join("rustfmt.toml");
    let root = scratch_dir("codegen-rustfmt-check");
    let _ = std::fs::remove_dir_all(&root);
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, json) in variants() {
        let def = module_def_from_json(&json);
        for (suffix, options) in [
            ("", Options::default()),
            ("_private", Options { include_private: true }),
        ] {
            let dir = root.join(format!("{name}{suffix}"));
            std::fs::create_dir_all(&dir).expect("create scratch dir");
            for f in generate(&def, &Rust, &options).unwrap_or_else(|e| panic!("{name}: {e}")) {
                let path = dir.join(&f.path);
                std::fs::write(&path, f.contents).expect("write generated file");
                files.push(path);
            }
        }
    }
    let output = Command::new("rustfmt")
        .args(["--check", "--edition", "2021", "--config-path"])
        .arg(&config)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rustfmt ({e}): it comes with the Rust toolchain"));
    assert!(
        output.status.success(),
        "rustfmt would change the generated Rust:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
