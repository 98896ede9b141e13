//! The Python output for each example module must equal its golden copy exactly (the chat
//! client's committed bindings, and `codegen/tests/golden/python/all-features/`, which
//! `UPDATE_GOLDEN=1` rewrites), and has the shape the SDK expects. A Python-only module with options of options has its
//! own definition and golden files there. `scripts/test-python.sh` type-checks all of it
//! with `mypy --strict` against `sdks/python`; the procedures module with views (which
//! `spacetime generate` cannot describe yet) is type-checked here.

use super::{assert_golden, codegen_dir, module_def, procedures_files, scratch_dir, with_compound_procedures, MODULES};
use spacetime_codegen::{generate, Options, OutputFile, Python};
use std::path::PathBuf;
use std::process::Command;

fn python_files(name: &str, options: &Options) -> Vec<OutputFile> {
    generate(&module_def(name), &Python, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn file<'a>(files: &'a [OutputFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not generated"))
        .contents
}

/// A Python-only module, `codegen/tests/golden/python/nested-options.json` (reached from
/// the fixtures directory), whose columns and reducer take options of options.
const NESTED_OPTIONS: &str = "../golden/python/nested-options";

#[test]
fn python_output_matches_golden_files() {
    for &module in MODULES.iter().chain([&NESTED_OPTIONS]) {
        assert_golden("python", module, &python_files(module, &Options::default()));
    }
}

#[test]
fn nested_options_keep_some_none_apart_from_none() {
    let files = python_files(NESTED_OPTIONS, &Options::default());
    let maybe = file(&files, "maybe_type.py");
    for line in [
        "    plain: str | None\n",
        "    twice: _sdk.Some[str | None] | None\n",
        "    thrice: _sdk.Some[_sdk.Some[int | None] | None] | None\n",
        "    listed: list[_sdk.Some[int | None] | None]\n",
        "(\"plain\", _sdk.OptionCodec(_sdk.STRING)),",
        "(\"twice\", _sdk.NestedOptionCodec(_sdk.OptionCodec(_sdk.STRING))),",
        "(\"listed\", _sdk.ArrayCodec(_sdk.NestedOptionCodec(_sdk.OptionCodec(_sdk.U8)))),",
    ] {
        assert!(maybe.contains(line), "missing `{line}`:\n{maybe}");
    }
    let reducer = file(&files, "set_twice_reducer.py");
    assert!(reducer.contains("twice: _sdk.Some[str | None] | None"), "{reducer}");
}

#[test]
fn chat_bindings_have_the_expected_files_and_api() {
    let files = python_files("quickstart-chat", &Options::default());
    let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "__init__.py",
            "message_table.py",
            "message_type.py",
            "send_message_reducer.py",
            "set_name_reducer.py",
            "user_table.py",
            "user_type.py",
        ]
    );
    let user = file(&files, "user_type.py");
    assert!(
        user.contains("@dataclass(frozen=True, slots=True)\nclass User:"),
        "{user}"
    );
    assert!(user.contains("    name: str | None\n"), "{user}");
    let table = file(&files, "user_table.py");
    assert!(
        table.contains("class UserTableHandle(_sdk.TableWithPrimaryKeyHandle[\"User\", \"EventContext\"]):"),
        "{table}"
    );
    assert!(
        table.contains("def identity(self) -> _sdk.UniqueIndex[User, _sdk.Identity]:"),
        "{table}"
    );
    let reducer = file(&files, "send_message_reducer.py");
    assert!(
        reducer.contains("async def send_message(self, text: str) -> _sdk.ReducerEvent[SendMessageArgs]:"),
        "{reducer}"
    );
    assert!(
        reducer.contains("return await self._imp.call_reducer(\"send_message\""),
        "{reducer}"
    );
    let init = file(&files, "__init__.py");
    assert!(
        init.contains("class RemoteReducers(SendMessageReducer, SetNameReducer):"),
        "{init}"
    );
    assert!(
        init.contains("def builder(cls) -> _sdk.DbConnectionBuilder[DbConnection]:"),
        "{init}"
    );
}

#[test]
fn every_type_maps_to_python_types() {
    let files = python_files("all-features", &Options::default());
    let every = file(&files, "every_type_type.py");
    for field in [
        "a_u_8: int",
        "a_u_256: int",
        "a_i_128: int",
        "a_f_32: float",
        "a_bytes: bytes",
        "an_option: str | None",
        "an_identity: _sdk.Identity",
        "a_connection_id: _sdk.ConnectionId",
        "a_timestamp: _sdk.Timestamp",
        "a_time_duration: _sdk.TimeDuration",
        "a_uuid: _sdk.Uuid",
        "a_point: Point",
        "a_color: Color",
        "a_shape: Shape",
    ] {
        assert!(every.contains(&format!("    {field}\n")), "missing `{field}`:\n{every}");
    }
    assert!(every.contains("(\"a_point\", _point_type.CODEC)"), "{every}");
    let shape = file(&files, "shape_type.py");
    assert!(
        shape.contains("Shape: TypeAlias = ShapeCircle | ShapePolygon | ShapeEmpty"),
        "{shape}"
    );
    let color = file(&files, "color_type.py");
    assert!(
        color.contains("class Color(enum.Enum):") && color.contains("    Blue = 2\n"),
        "{color}"
    );
    // A renamed reducer is called by its wire name through its source name.
    let roll = file(&files, "roll_reducer.py");
    assert!(
        roll.contains("async def roll(self) -> _sdk.ReducerEvent[RollArgs]:")
            && roll.contains("call_reducer(\"roll_die\""),
        "{roll}"
    );
}

/// A file imports `TYPE_CHECKING` and opens an `if TYPE_CHECKING:` block only when it has
/// annotation-only imports to put there; an empty block would need a bare `pass`.
#[test]
fn type_checking_blocks_only_with_imports() {
    for &module in MODULES.iter().chain([&NESTED_OPTIONS]) {
        for f in python_files(module, &Options { include_private: true }) {
            let text = &f.contents;
            assert!(
                !text.contains("    pass\n"),
                "{module}/{}: an empty block:\n{text}",
                f.path
            );
            let imports = text.contains("from typing import TYPE_CHECKING");
            let block = text.contains("\nif TYPE_CHECKING:\n    from .");
            assert_eq!(imports, block, "{module}/{}:\n{text}", f.path);
        }
    }
    let files = python_files("quickstart-chat", &Options::default());
    let user = file(&files, "user_type.py");
    assert!(!user.contains("TYPE_CHECKING"), "{user}");
    let table = file(&files, "user_table.py");
    assert!(
        table.contains("if TYPE_CHECKING:\n    from . import EventContext\n"),
        "{table}"
    );
}

#[test]
fn private_items_only_on_request() {
    let public: Vec<String> = python_files("all-features", &Options::default())
        .into_iter()
        .map(|f| f.path)
        .collect();
    let all: Vec<String> = python_files("all-features", &Options { include_private: true })
        .into_iter()
        .map(|f| f.path)
        .collect();
    for private in ["audit_log_table.py", "reminder_table.py", "send_reminder_reducer.py"] {
        assert!(
            !public.contains(&private.to_owned()),
            "{private} generated without include_private"
        );
        assert!(
            all.contains(&private.to_owned()),
            "{private} missing with include_private"
        );
    }
}

#[test]
fn procedures_and_views_match_golden_files() {
    assert_golden("python", "procedures", &procedures_files(&Python));
}

#[test]
fn procedures_are_async_methods_returning_their_value() {
    let files = procedures_files(&Python);
    let add = file(&files, "add_procedure.py");
    assert!(
        add.contains("    async def add(self, a: int, b: int) -> int:\n"),
        "{add}"
    );
    assert!(add.contains("RETURN_CODEC: _sdk.Codec[int] = _sdk.U32\n"), "{add}");
    assert!(
        add.contains("await self._imp.call_procedure(\"add\", AddProcedureArgs(a, b), ARGS_CODEC, RETURN_CODEC)"),
        "{add}"
    );
    let unit = file(&files, "panic_in_tx_procedure.py");
    assert!(unit.contains("async def panic_in_tx(self) -> None:"), "{unit}");
    // A scheduled procedure is private: clients cannot call it.
    assert!(!files.iter().any(|f| f.path == "run_job_procedure.py"));
    let init = file(&files, "__init__.py");
    assert!(
        init.contains(
            "class RemoteProcedures(AddProcedure, CountFetchedProcedure, FetchAndStoreProcedure, PanicInTxProcedure):"
        ),
        "{init}"
    );
}

#[test]
fn views_are_table_handles_with_find_and_updates_when_keyed() {
    let files = procedures_files(&Python);
    let keyed = file(&files, "recent_fetches_table.py");
    assert!(
        keyed
            .contains("class RecentFetchesTableHandle(_sdk.TableWithPrimaryKeyHandle[\"Fetched\", \"EventContext\"]):"),
        "{keyed}"
    );
    assert!(
        keyed.contains("def id(self) -> _sdk.UniqueIndex[Fetched, int]:"),
        "{keyed}"
    );
    assert!(
        keyed.contains("The cached rows of the view `recent_fetches`"),
        "{keyed}"
    );
    let unkeyed = file(&files, "my_last_bump_table.py");
    assert!(
        unkeyed.contains("class MyLastBumpTableHandle(_sdk.TableHandle[\"Bumped\", \"EventContext\"]):"),
        "{unkeyed}"
    );
    assert!(!unkeyed.contains("UniqueIndex"), "{unkeyed}");
    let init = file(&files, "__init__.py");
    assert!(
        init.contains("self.recent_fetches = RecentFetchesTableHandle(imp, \"recent_fetches\")"),
        "{init}"
    );
    assert!(
        init.contains("_recent_fetches_table.INFO"),
        "views are cached like tables: {init}"
    );
}

/// The venv's Python, which has mypy (`scripts/install-deps.sh`).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SPACETIME_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/spacetime-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python venv at {}: run scripts/install-deps.sh",
        venv.display()
    );
    python
}

/// `scripts/test-python.sh` type-checks the bindings `spacetime generate` writes, which
/// have no views (no fixture has any); this checks the procedures module with its views and
/// procedures of compound types, public and private, against this checkout's SDK, and
/// imports it.
#[test]
fn procedures_and_views_pass_mypy_strict_and_import() {
    let scratch = scratch_dir("codegen-python-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let def = with_compound_procedures();
    for (package, include_private) in [("procedures", false), ("procedures_private", true)] {
        let options = Options { include_private };
        for f in generate(&def, &Python, &options).unwrap_or_else(|e| panic!("{package}: {e}")) {
            let path = scratch.join(package).join(&f.path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
            std::fs::write(&path, f.contents).expect("write generated file");
        }
    }
    let sdk = codegen_dir().join("../sdks/python/src");
    let run = |args: &[&str]| {
        let output = Command::new(venv_python())
            .args(args)
            .current_dir(&scratch)
            .env("MYPYPATH", &sdk)
            .env("PYTHONPATH", &sdk)
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "python {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let cache = scratch.join(".mypy_cache");
    run(&[
        "-m",
        "mypy",
        "--strict",
        "--cache-dir",
        &cache.to_string_lossy(),
        "procedures",
        "procedures_private",
    ]);
    run(&[
        "-c",
        "from procedures_private import DbConnection, RemoteProcedures, MODULE\n\
         from procedures_private.add_procedure import ARGS_CODEC, AddProcedureArgs\n\
         assert [t.name for t in MODULE.tables][-3:] == ['recent_fetches', 'my_last_bump', 'fetches_of'], MODULE\n\
         assert ARGS_CODEC.to_bytes(AddProcedureArgs(1, 2)) == bytes([1, 0, 0, 0, 2, 0, 0, 0])\n\
         assert hasattr(RemoteProcedures, 'run_job')\n\
         from procedures_private.fetched_type import Fetched\n\
         from procedures_private.list_fetched_procedure import RETURN_CODEC as LIST\n\
         rows = [Fetched(1, 'a'), Fetched(2, 'b')]\n\
         assert LIST.from_bytes(LIST.to_bytes(rows)) == rows",
    ]);
}
