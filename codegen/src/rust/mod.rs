//! Rust bindings, for the `spacetime-sdk` crate (`spacetimedb_sdk`).
//!
//! Output, for a module with table `user` (row type `User`) and reducer `set_name`:
//! `user_table.rs` (the table handle and `ctx.db.user()`), `user_type.rs` (the row
//! struct and its BSATN codec), `set_name_reducer.rs` (`ctx.reducers.set_name(…)` and
//! `set_name_then`), for a view `online` a read-only table handle `online_table.rs`, for
//! a procedure `add` `add_procedure.rs` (`ctx.procedures.add(…)`, a future of its return
//! value, and `add_then`), and `mod.rs` (the `Reducer` enum, the module type, and aliases of
//! the SDK's connection and context types). Generated code reaches the SDK only through
//! `spacetimedb_sdk::__codegen` and holds no protocol logic.
//!
//! This file decides every name and type spelling; the templates in
//! `codegen/templates/rust/` only lay them out.

mod layout;
mod names;
mod views;

use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeModel, ViewModel};
use crate::{render, CodegenError, Lang, OutputFile};

/// The Rust target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rust;

/// The comment every generated Rust file starts with.
const HEADER: &str = crate::generated_header!("//");

impl Lang for Rust {
    fn name(&self) -> &'static str {
        "Rust"
    }

    fn generated_type_names(&self) -> &'static [&'static str] {
        &[
            "DbConnection",
            "DbConnectionBuilder",
            "ErrorContext",
            "EventContext",
            "ProcedureEventContext",
            "Reducer",
            "ReducerEventContext",
            "RemoteDbContext",
            "RemoteModule",
            "RemoteProcedures",
            "RemoteReducers",
            "RemoteTables",
            "SubscriptionBuilder",
            "SubscriptionEventContext",
            "SubscriptionHandle",
        ]
    }

    fn type_name(&self, ty: &TypeModel) -> String {
        names::type_name(ty)
    }

    fn line_comment(&self) -> &'static str {
        "//"
    }

    fn type_file(&self, module: &Module, ty: &TypeModel) -> Result<OutputFile, CodegenError> {
        let view = views::TypeFile::new(module, ty);
        let path = format!("{}.rs", view.module);
        render(&view, "rust/type.rs.jinja", path)
    }

    fn table_file(&self, module: &Module, table: &TableModel) -> Result<OutputFile, CodegenError> {
        let view = views::TableFile::new(module, table);
        let path = format!("{}.rs", view.module);
        render(&view, "rust/table.rs.jinja", path)
    }

    fn reducer_file(&self, module: &Module, reducer: &ReducerModel) -> Result<OutputFile, CodegenError> {
        let view = views::ReducerFile::new(module, reducer);
        let path = format!("{}.rs", view.module);
        render(&view, "rust/reducer.rs.jinja", path)
    }

    fn view_file(&self, module: &Module, view: &ViewModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::TableFile::for_view(module, view);
        let path = format!("{}.rs", view.module);
        render(&view, "rust/table.rs.jinja", path).map(Some)
    }

    fn procedure_file(&self, module: &Module, procedure: &ProcedureModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::ProcedureFile::new(module, procedure);
        let path = format!("{}.rs", view.module);
        render(&view, "rust/procedure.rs.jinja", path).map(Some)
    }

    fn global_files(&self, module: &Module) -> Result<Vec<OutputFile>, CodegenError> {
        let view = views::ModFile::new(module);
        Ok(vec![render(&view, "rust/mod.rs.jinja", "mod.rs".into())?])
    }
}
