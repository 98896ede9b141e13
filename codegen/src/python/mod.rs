//! Python bindings, for the `spacetime-sdk` package (`spacetime_sdk`).
//!
//! The output directory is a Python package. For a module with table `user` (row type
//! `User`) and reducer `set_name`: `user_table.py` (the table handle, `ctx.db.user`),
//! `user_type.py` (the frozen dataclass and its codec), `set_name_reducer.py` (the
//! `SetNameArgs` dataclass and the mixin giving `ctx.reducers.set_name(…)`), and
//! `__init__.py` (`RemoteTables`, `RemoteReducers`, `RemoteProcedures`, `DbConnection` with
//! `builder()`, the context aliases, and re-exports). A view `online` is a read-only handle
//! like a table's, in `online_table.py` (`ctx.db.online`, `find` and `on_update` when it has a
//! primary key); a procedure `add` is `add_procedure.py` (`AddProcedureArgs` and the mixin
//! giving `await ctx.procedures.add(…)`, which returns the procedure's value). Sum types
//! are one frozen dataclass per variant plus a union alias; sums whose variants carry
//! nothing are `enum.Enum`s. Generated code reaches
//! the SDK only through `spacetime_sdk.codegen` and holds no protocol logic: each type is
//! described by a codec built from the SDK's.
//!
//! This file decides every name and type spelling; the templates in
//! `codegen/templates/python/` only lay them out.

mod names;
mod views;

use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeModel, ViewModel};
use crate::{render, CodegenError, Lang, OutputFile};

/// The names the package defines itself (besides the module's types): a module type
/// of one of these names would clash, and `__all__` exports them.
const GENERATED_TYPE_NAMES: &[&str] = &[
    "DbConnection",
    "ErrorContext",
    "EventContext",
    "Reducer",
    "ReducerEventContext",
    "RemoteProcedures",
    "RemoteReducers",
    "RemoteTables",
    "SubscriptionBuilder",
    "SubscriptionEventContext",
    "SubscriptionHandle",
];

/// The Python target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Python;

/// The comment every generated Python file starts with.
const HEADER: &str = crate::generated_header!("#");

impl Lang for Python {
    fn name(&self) -> &'static str {
        "Python"
    }

    fn generated_type_names(&self) -> &'static [&'static str] {
        GENERATED_TYPE_NAMES
    }

    fn type_name(&self, ty: &TypeModel) -> String {
        names::type_name(ty)
    }

    fn line_comment(&self) -> &'static str {
        "#"
    }

    fn type_file(&self, module: &Module, ty: &TypeModel) -> Result<OutputFile, CodegenError> {
        let index = module
            .types
            .iter()
            .position(|t| std::ptr::eq(t, ty))
            .ok_or_else(|| CodegenError::Template {
                template: "python/type.py.jinja",
                message: format!("type `{}` is not one of the module's types", ty.name),
            })?;
        let view = views::TypeFile::new(module, index);
        let path = format!("{}.py", view.module);
        render(&view, "python/type.py.jinja", path)
    }

    fn table_file(&self, module: &Module, table: &TableModel) -> Result<OutputFile, CodegenError> {
        let view = views::TableFile::new(module, table);
        let path = format!("{}.py", view.module);
        render(&view, "python/table.py.jinja", path)
    }

    fn reducer_file(&self, module: &Module, reducer: &ReducerModel) -> Result<OutputFile, CodegenError> {
        let view = views::ReducerFile::new(module, reducer);
        let path = format!("{}.py", view.module);
        render(&view, "python/reducer.py.jinja", path)
    }

    fn view_file(&self, module: &Module, view: &ViewModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::TableFile::for_view(module, view);
        let path = format!("{}.py", view.module);
        render(&view, "python/table.py.jinja", path).map(Some)
    }

    fn procedure_file(&self, module: &Module, procedure: &ProcedureModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::ProcedureFile::new(module, procedure);
        let path = format!("{}.py", view.module);
        render(&view, "python/procedure.py.jinja", path).map(Some)
    }

    fn global_files(&self, module: &Module) -> Result<Vec<OutputFile>, CodegenError> {
        let view = views::InitFile::new(module);
        Ok(vec![render(&view, "python/init.py.jinja", "__init__.py".into())?])
    }
}
