//! Upstream compatibility: the example modules built with our bindings describe
//! themselves exactly as the same sources built against the crates.io
//! `spacetimedb = "=2.10.1"` do (and a 2.14 module as against `=2.14.0`), and our builds
//! import only `spacetime_10.*` functions.

use crate::args;
use crate::modules::{
    module_bytes, module_bytes_upstream_214, Bindings, ModuleCrate, ALL_FEATURES, BENCH, ENV_VIEWS, HOST_TEST,
    HTTP_ROUTES, PROCEDURES, QUICKSTART_CHAT, SURFACE, VIEWS, VIEWS_PARAMS,
};
use crate::support::{alice, runtime, Db};
use spacetime_host::extract_raw_module_def;
use spacetime_sats::def::raw::{RawModuleDef, RawModuleDefV10Section};
use spacetime_sats::Identity;
use std::fmt::Write;

/// A name for each section, for the diff.
fn section_name(section: &RawModuleDefV10Section) -> String {
    let debug = format!("{section:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or("?").to_owned()
}

/// Sections by name, pretty-printed.
fn sections(def: &RawModuleDef) -> Vec<(String, String)> {
    match def {
        RawModuleDef::V10(v10) => v10
            .sections
            .iter()
            .map(|s| (section_name(s), format!("{s:#?}")))
            .collect(),
        other => vec![("whole definition".into(), format!("{other:#?}"))],
    }
}

/// A line diff of two texts: `-` only upstream, `+` only ours, with context.
fn line_diff(upstream: &str, ours: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (upstream.lines().collect(), ours.lines().collect());
    // Longest common subsequence table, fine for definitions of a few thousand lines.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    out
}

/// Asserts both builds of `module` describe the same definition, printing the
/// differing sections as a diff.
fn assert_same_definition(module: ModuleCrate) {
    assert_same_as(module, &module_bytes(module, Bindings::Upstream));
}

/// Asserts our build of `module` describes itself as `upstream_wasm` does.
fn assert_same_as(module: ModuleCrate, upstream_wasm: &[u8]) {
    let upstream = extract_raw_module_def(upstream_wasm)
        .unwrap_or_else(|e| panic!("upstream build of {} does not describe itself: {e}", module.package));
    let ours = extract_raw_module_def(&module_bytes(module, Bindings::Ours))
        .unwrap_or_else(|e| panic!("our build of {} does not describe itself: {e}", module.package));
    if upstream == ours {
        return;
    }
    let (up, our) = (sections(&upstream), sections(&ours));
    let mut report = format!(
        "{}: our module definition differs from upstream's (- upstream, + ours)\n",
        module.package
    );
    let names: Vec<&String> = up.iter().chain(&our).map(|(n, _)| n).collect();
    let mut seen = Vec::new();
    for name in names {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let find = |list: &[(String, String)]| {
            list.iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        let (a, b) = (find(&up), find(&our));
        if a != b {
            let _ = writeln!(report, "== section {name} ==\n{}", line_diff(&a, &b));
        }
    }
    let order = |list: &[(String, String)]| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if order(&up) != order(&our) {
        let _ = writeln!(
            report,
            "section order: upstream {:?}, ours {:?}",
            order(&up),
            order(&our)
        );
    }
    panic!("{report}");
}

#[test]
fn quickstart_chat_describes_itself_as_upstream() {
    assert_same_definition(QUICKSTART_CHAT);
}

#[test]
fn all_features_describes_itself_as_upstream() {
    assert_same_definition(ALL_FEATURES);
}

#[test]
fn bench_module_describes_itself_as_upstream() {
    assert_same_definition(BENCH);
}

#[test]
fn host_test_module_describes_itself_as_upstream() {
    assert_same_definition(HOST_TEST);
}

/// The whole module-author API surface (see `bindings/tests/surface/module.rs`): the same
/// source compiles against both and describes itself the same way.
#[test]
fn api_surface_module_describes_itself_as_upstream() {
    assert_same_definition(SURFACE);
}

/// `#[procedure]`s (`ProcedureContext`, `with_tx`, `ctx.http`) describe themselves as
/// upstream's do.
#[test]
fn procedures_module_describes_itself_as_upstream() {
    assert_same_definition(PROCEDURES);
}

/// `#[view]`s (per caller and anonymous, a keyed one, beside a row-level security filter)
/// describe themselves as upstream's do.
#[test]
fn views_module_describes_itself_as_upstream() {
    assert_same_definition(VIEWS);
}

/// Each view of `bindings`' build of the views module, evaluated for alice after alice
/// and bob each added an item and a player: the view's name and its rows (BSATN).
fn view_rows_for_alice(bindings: Bindings) -> Vec<(String, Vec<Box<[u8]>>)> {
    let program = runtime()
        .load(&module_bytes(VIEWS, bindings))
        .unwrap_or_else(|e| panic!("the {bindings:?} build of the views module does not load: {e}"));
    let mut db = Db::new(&program);
    let bob = Identity::from_byte_array([9; 32]);
    db.ok("add_item", args!["apple".to_string(), 5u32]);
    db.ok("set_player", args!["alice".to_string(), 12u32]);
    for (reducer, args) in [
        ("add_item", args!["bread".to_string(), 150u32]),
        ("set_player", args!["bob".to_string(), 3u32]),
    ] {
        let outcome = db.call_as(reducer, bob, args);
        assert!(outcome.result.is_ok(), "bob's {reducer}: {:?}", outcome.result);
    }
    program
        .module_def()
        .views
        .iter()
        .map(|view| {
            let outcome = db
                .instance
                .call_view(&mut db.ds, view, alice(), db.now)
                .unwrap_or_else(|e| panic!("{bindings:?} build, view {}: {e}", view.name));
            (view.name.clone(), outcome.rows)
        })
        .collect()
}

/// Our bindings' view exports return, through the real host, exactly the rows the
/// crates.io build returns: per caller (alice's own item and player) and anonymous
/// (bob's expensive item, the leaderboard).
#[test]
fn views_module_returns_the_rows_upstream_returns() {
    let ours = view_rows_for_alice(Bindings::Ours);
    assert_eq!(ours, view_rows_for_alice(Bindings::Upstream));
    let counts: Vec<(&str, usize)> = ours.iter().map(|(name, rows)| (name.as_str(), rows.len())).collect();
    assert_eq!(
        counts,
        [
            ("expensive_items", 1),
            ("leaderboard", 1),
            ("my_items", 1),
            ("my_player", 1)
        ]
    );
}

/// SpacetimeDB 2.14's module API (`#[env]` with every kind of key, views with parameters
/// reading `ctx.env`) describes itself as the crates.io 2.14.0 build of the same source.
#[test]
fn env_views_module_describes_itself_as_upstream_2_14() {
    assert_same_as(ENV_VIEWS, &module_bytes_upstream_214(ENV_VIEWS));
}

/// HTTP handlers and the router (`unstable`) describe themselves as the crates.io 2.14.0
/// build of the same source: the `HttpHandlers` and `HttpRoutes` sections in the same
/// order, so handler ids agree.
#[test]
fn http_routes_module_describes_itself_as_upstream_2_14() {
    assert_same_as(HTTP_ROUTES, &module_bytes_upstream_214(HTTP_ROUTES));
}

/// Views with parameters and query-builder views (`-> impl Query<T>`, described as the
/// product `{ __query__: T }`) describe themselves as the crates.io 2.14.0 build of the
/// same source.
#[test]
fn views_params_module_describes_itself_as_upstream_2_14() {
    assert_same_as(VIEWS_PARAMS, &module_bytes_upstream_214(VIEWS_PARAMS));
}

#[test]
fn upstream_builds_of_the_examples_load() {
    for module in [QUICKSTART_CHAT, ALL_FEATURES] {
        let wasm = module_bytes(module, Bindings::Upstream);
        runtime()
            .load(&wasm)
            .unwrap_or_else(|e| panic!("upstream build of {} does not load: {e}", module.package));
    }
}

#[test]
fn our_builds_import_only_spacetime_10_functions() {
    let engine = wasmtime::Engine::default();
    // The views and environment modules add the view exports and `spacetime_10.6`.
    for module in [QUICKSTART_CHAT, ALL_FEATURES, VIEWS, ENV_VIEWS, VIEWS_PARAMS] {
        let wasm = module_bytes(module, Bindings::Ours);
        let compiled = wasmtime::Module::new(&engine, &wasm).expect("valid wasm");
        let foreign: Vec<String> = compiled
            .imports()
            .filter(|i| {
                !i.module().starts_with("spacetime_10.") || !spacetime_host::IMPORTS.contains(&(i.module(), i.name()))
            })
            .map(|i| format!("{}::{}", i.module(), i.name()))
            .collect();
        assert!(
            foreign.is_empty(),
            "{} imports functions the host does not provide: {foreign:?}",
            module.package
        );
        assert!(
            compiled.imports().len() > 0,
            "{} imports nothing from the host",
            module.package
        );
    }
}

#[test]
fn line_diff_marks_changed_lines() {
    assert_eq!(line_diff("a\nb\nc", "a\nx\nc"), "+ x\n- b\n");
}
