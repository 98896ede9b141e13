//! Integration tests of codegen: golden files of every language's output for the example
//! modules (one check, [`assert_golden`]), compile and rustfmt checks of that output, and
//! errors.
//!
//! The module definitions are fixtures (`codegen/tests/fixtures/*.json`): the
//! `RawModuleDef` each example's `.wasm` describes, in SATS-JSON, extracted once with
//! `spacetime_host::extract_raw_module_def`. Regenerate them after changing an example.
//! The golden copy of the quickstart chat's output in a language is the bindings its
//! example client commits (regenerated with `spacetime generate`); the other golden files
//! live under `codegen/tests/golden/<lang>/<module>/` and are rewritten with
//! `UPDATE_GOLDEN=1 cargo test -p spacetime-codegen`.

mod compiles;
mod csharp;
mod errors;
mod golden;
mod model;
mod procedures;
mod python;
mod rustfmt;
mod typescript;

use spacetime_codegen::{generate, Options, OutputFile, Rust};
use spacetime_sats::def::model::{ModuleDef, ViewDef};
use spacetime_sats::def::raw::RawModuleDef;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The example modules with fixtures.
pub const MODULES: &[&str] = &["quickstart-chat", "all-features"];

pub fn codegen_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory `name` under the build directory, for compile checks.
pub fn scratch_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| codegen_dir().join("../target"));
    base.join(name)
}

/// The fixture `name` as SATS-JSON: `codegen/tests/fixtures/<name>.json`.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let path = codegen_dir().join("tests/fixtures").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The validated module of a `RawModuleDef` in SATS-JSON.
pub fn module_def_from_json(json: &serde_json::Value) -> ModuleDef {
    let raw: RawModuleDef = spacetime_sats::json::from_json(json).expect("fixture is a RawModuleDef");
    ModuleDef::from_raw(raw).expect("fixture validates")
}

pub fn module_def(name: &str) -> ModuleDef {
    module_def_from_json(&fixture_json(name))
}

/// The module with procedures and views: `tests/modules/procedures` (the fixture
/// `procedures`) plus two views over its tables, as validation describes them:
/// `recent_fetches` (anonymous, `Vec<Fetched>`, keyed by `id`), `my_last_bump` (per
/// caller, `Option<Bumped>`, no key) and `fetches_of(url)` (anonymous, a query of `Fetched`,
/// with a parameter).
pub fn procedures_and_views() -> ModuleDef {
    let mut def = module_def("procedures");
    let view = |name: &str, table: &str, is_anonymous: bool, keyed: bool| {
        let rows = def.table(table).unwrap_or_else(|| panic!("table {table}"));
        ViewDef {
            name: name.into(),
            source_name: name.into(),
            index: 0,
            is_public: true,
            is_anonymous,
            returns_option: !keyed,
            returns_query: false,
            params: spacetime_sats::ProductType::unit(),
            product_type_ref: rows.product_type_ref,
            row_type: rows.row_type.clone(),
            columns: rows.columns.clone(),
            primary_key: rows.primary_key.filter(|_| keyed),
        }
    };
    let mut views = vec![
        view("recent_fetches", "fetched", true, true),
        view("my_last_bump", "bumped", false, false),
    ];
    // A query-builder view with parameters: clients call it in SQL, `fetches_of(url)`;
    // its rows arrive under its name like any view's.
    let mut fetches_of = view("fetches_of", "fetched", true, false);
    fetches_of.returns_option = false;
    fetches_of.returns_query = true;
    fetches_of.params = spacetime_sats::ProductType::named([("url", spacetime_sats::AlgebraicType::String)]);
    views.push(fetches_of);
    def.views = views;
    def
}

/// [`procedures_and_views`] plus procedures whose parameters and return values are named
/// types, arrays, options and results, for the compile and type checks: their encode and
/// decode expressions nest where the fixture's primitives do not.
pub fn with_compound_procedures() -> ModuleDef {
    use spacetime_sats::def::model::ProcedureDef;
    use spacetime_sats::def::raw::FunctionVisibility;
    use spacetime_sats::{AlgebraicType, ProductType};
    let mut def = procedures_and_views();
    let row = |table: &str| {
        AlgebraicType::Ref(
            def.table(table)
                .unwrap_or_else(|| panic!("table {table}"))
                .product_type_ref,
        )
    };
    let (fetched, job) = (row("fetched"), row("job"));
    let procedure = |name: &str, params: Vec<(&str, AlgebraicType)>, return_type: AlgebraicType| ProcedureDef {
        name: name.into(),
        source_name: name.into(),
        params: ProductType::named(params),
        return_type,
        visibility: FunctionVisibility::ClientCallable,
    };
    def.procedures.extend([
        procedure(
            "list_fetched",
            vec![
                ("ids", AlgebraicType::array(AlgebraicType::U64)),
                ("filter", AlgebraicType::option(AlgebraicType::String)),
            ],
            AlgebraicType::array(fetched.clone()),
        ),
        procedure("maybe_job", vec![("job", job.clone())], AlgebraicType::option(job)),
        procedure(
            "checked",
            vec![("rows", AlgebraicType::array(AlgebraicType::option(fetched)))],
            AlgebraicType::result(AlgebraicType::U32, AlgebraicType::String),
        ),
    ]);
    def
}

/// The text of the generated file at `path`.
pub fn file<'a>(files: &'a [OutputFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not generated"))
        .contents
}

/// `lang`'s output for [`procedures_and_views`].
pub fn procedures_files(lang: &dyn spacetime_codegen::Lang) -> Vec<OutputFile> {
    generate(&procedures_and_views(), lang, &Options::default()).unwrap_or_else(|e| panic!("procedures: {e}"))
}

pub fn rust_files(name: &str, options: &Options) -> Vec<OutputFile> {
    generate(&module_def(name), &Rust, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The text every generated file's first line carries, in any comment syntax.
const GENERATED_MARK: &str = "THIS FILE IS AUTOMATICALLY GENERATED BY SPACETIMEDB.";

/// The bindings the examples commit, as (language, module, directory under the
/// repository root). These are the golden copies of that output: codegen keeps no second
/// copy, and `spacetime generate` (as each client's README says) is what rewrites them.
const EXAMPLE_BINDINGS: &[(&str, &str, &str)] = &[
    (
        "rust",
        "quickstart-chat",
        "examples/quickstart-chat/client-rust/src/module_bindings",
    ),
    (
        "typescript",
        "quickstart-chat",
        "examples/quickstart-chat/client-typescript/src/module_bindings",
    ),
    (
        "typescript",
        "quickstart-chat",
        "examples/quickstart-chat/client-web/src/module_bindings",
    ),
    (
        "python",
        "quickstart-chat",
        "examples/quickstart-chat/client-python/module_bindings",
    ),
    (
        "csharp",
        "quickstart-chat",
        "examples/quickstart-chat/client-csharp/module_bindings",
    ),
];

/// A committed copy of one language's output for one module.
struct GoldenDir {
    path: PathBuf,
    /// How to bring it up to date after an intended change.
    fix: String,
    /// Whether `UPDATE_GOLDEN=1` may rewrite it (codegen's own golden files only).
    codegen_owned: bool,
}

/// The committed copies of `lang`'s output for `module`: the examples' bindings where an
/// example commits them, else `codegen/tests/golden/<lang>/<module's last path component>/`.
fn golden_dirs(lang: &str, module: &str) -> Vec<GoldenDir> {
    let repo = codegen_dir().join("..");
    let examples: Vec<GoldenDir> = EXAMPLE_BINDINGS
        .iter()
        .filter(|(l, m, _)| *l == lang && *m == module)
        .map(|(_, m, dir)| GoldenDir {
            path: repo.join(dir),
            fix: format!("regenerate it with `spacetime generate --lang {lang} --out-dir {dir} --module-path examples/{m}/module`"),
            codegen_owned: false,
        })
        .collect();
    if !examples.is_empty() {
        return examples;
    }
    let name = module.rsplit('/').next().unwrap_or(module);
    vec![GoldenDir {
        path: codegen_dir().join("tests/golden").join(lang).join(name),
        fix: "run with UPDATE_GOLDEN=1".into(),
        codegen_owned: true,
    }]
}

/// Asserts that `files`, the `lang` output for `module`, equal each committed copy of it
/// exactly ([`golden_dirs`]), the set of files as well as their text, and that each starts
/// with the generated-file header. With `UPDATE_GOLDEN=1` codegen's own golden
/// directories are rewritten from `files` first; the examples' bindings never are.
#[track_caller]
pub fn assert_golden(lang: &str, module: &str, files: &[OutputFile]) {
    for f in files {
        let first = f.contents.lines().next().unwrap_or_default();
        assert!(
            first.contains(GENERATED_MARK),
            "{lang}/{module}/{}: missing the generated-file header",
            f.path
        );
    }
    let generated: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    for golden in golden_dirs(lang, module) {
        let dir = &golden.path;
        if golden.codegen_owned && std::env::var_os("UPDATE_GOLDEN").is_some() {
            let _ = std::fs::remove_dir_all(dir);
            for f in files {
                let path = dir.join(&f.path);
                std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create golden dir");
                std::fs::write(path, &f.contents).expect("write golden file");
            }
        }
        let fix = &golden.fix;
        assert_eq!(
            generated,
            files_under(dir, fix),
            "{lang}/{module}: the set of files differs from {}; if intended, {fix}",
            dir.display()
        );
        for f in files {
            let expected = std::fs::read_to_string(dir.join(&f.path)).expect("golden file");
            assert!(
                f.contents == expected,
                "{lang}/{module}/{} differs from {}; if the change is intended, {fix}\n--- generated ---\n{}",
                f.path,
                dir.display(),
                f.contents
            );
        }
    }
}

/// The paths of the files under `dir`, relative to it, with `/` separators. Skips
/// `__pycache__`, which running the Python client leaves next to its bindings.
fn files_under(dir: &Path, fix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}; {fix}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "__pycache__") {
                    stack.push(path);
                }
            } else {
                found.insert(
                    path.strip_prefix(dir)
                        .expect("under dir")
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    found
}

/// Every language's files start with its own generated prefix, which the CLI's stale-file
/// cleanup looks for.
#[test]
fn every_file_starts_with_its_languages_generated_prefix() {
    use spacetime_codegen::{CSharp, Lang, Python, TypeScript};
    let langs: [(&dyn Lang, &str); 4] = [
        (&Rust, "// THIS FILE"),
        (&TypeScript, "// THIS FILE"),
        (&Python, "# THIS FILE"),
        (&CSharp::default(), "// THIS FILE"),
    ];
    for (lang, start) in langs {
        let prefix = lang.generated_prefix();
        assert!(
            prefix.starts_with(start) && prefix.ends_with(spacetime_codegen::GENERATED_MARK),
            "{prefix}"
        );
        for f in generate(&module_def("quickstart-chat"), lang, &Options::default()).expect("generates") {
            assert!(
                f.contents.starts_with(&prefix),
                "{}: does not start with `{prefix}`",
                f.path
            );
        }
    }
}
