//! Procedures and views in the Rust and TypeScript output: golden copies
//! (`codegen/tests/golden/<lang>/procedures/`, and `views/` for `tests/modules/views`) and
//! the API each file must offer.

use super::{assert_golden, file, module_def, procedures_files};
use spacetime_codegen::{generate, Lang, Options, OutputFile, Rust, TypeScript};

fn views_files(lang: &dyn Lang) -> Vec<OutputFile> {
    generate(&module_def("views"), lang, &Options::default()).unwrap_or_else(|e| panic!("views: {e}"))
}

#[test]
fn rust_output_matches_golden_files() {
    assert_golden("rust", "procedures", &procedures_files(&Rust));
}

#[test]
fn typescript_output_matches_golden_files() {
    assert_golden("typescript", "procedures", &procedures_files(&TypeScript));
}

#[test]
fn views_module_output_matches_golden_files() {
    assert_golden("rust", "views", &views_files(&Rust));
    assert_golden("typescript", "views", &views_files(&TypeScript));
}

#[test]
fn the_views_modules_views_are_handles_keyed_as_declared() {
    let rust = views_files(&Rust);
    let keyed = file(&rust, "my_player_table.rs");
    assert!(
        keyed.contains("impl __sdk::TableWithPrimaryKey for MyPlayerTableHandle"),
        "{keyed}"
    );
    assert!(keyed.contains("pub fn identity(&self)"), "{keyed}");
    for unkeyed in ["my_items_table.rs", "expensive_items_table.rs", "leaderboard_table.rs"] {
        assert!(!file(&rust, unkeyed).contains("TableWithPrimaryKey"), "{unkeyed}");
    }
    let ts = views_files(&TypeScript);
    let keyed = file(&ts, "my_player_table.ts");
    assert!(
        keyed.contains("extends __sdk.TableHandleWithUpdate<Player, EventContext>"),
        "{keyed}"
    );
    assert!(file(&ts, "index.ts").contains("/** The view `my_items`. */"));
}

#[test]
fn rust_procedures_are_futures_of_their_return_type_with_a_callback_form() {
    let files = procedures_files(&Rust);
    let add = file(&files, "add_procedure.rs");
    assert!(
        add.contains("fn add(&self, a: u32, b: u32) -> __sdk::ProcedureCall<u32>;"),
        "{add}"
    );
    assert!(add.contains("fn add_then("), "{add}");
    assert!(add.contains("__sdk::Result<u32>"), "{add}");
    assert!(
        add.contains("__sdk::DbContextImpl::call_procedure(&self.imp, \"add\", args)"),
        "{add}"
    );
    let unit = file(&files, "panic_in_tx_procedure.rs");
    assert!(unit.contains("-> __sdk::ProcedureCall<()>"), "{unit}");
    // A scheduled procedure is private: clients cannot call it.
    assert!(!files.iter().any(|f| f.path == "run_job_procedure.rs"));
    let module = file(&files, "mod.rs");
    assert!(module.contains("type Procedures = RemoteProcedures;"), "{module}");
}

#[test]
fn rust_views_are_read_only_tables_with_find_and_updates_when_keyed() {
    let files = procedures_files(&Rust);
    let keyed = file(&files, "recent_fetches_table.rs");
    assert!(
        keyed.contains("impl __sdk::TableWithPrimaryKey for RecentFetchesTableHandle"),
        "{keyed}"
    );
    assert!(
        keyed.contains("pub fn find(&self, col_val: &u64) -> Option<super::Fetched>"),
        "{keyed}"
    );
    let unkeyed = file(&files, "my_last_bump_table.rs");
    assert!(
        unkeyed.contains("impl __sdk::Table for MyLastBumpTableHandle"),
        "{unkeyed}"
    );
    assert!(!unkeyed.contains("TableWithPrimaryKey"), "{unkeyed}");
    assert!(!unkeyed.contains("fn find"), "{unkeyed}");
    let module = file(&files, "mod.rs");
    assert!(
        module.contains("\"recent_fetches\""),
        "views are subscribable like tables: {module}"
    );
}
