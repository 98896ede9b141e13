//! The TypeScript target: a file per table and per view (its definition and typed handle
//! class; a view's is read-only like every client table), per named type (a TypeScript type
//! plus its BSATN codec, under one name), per reducer (its argument type and codec), per
//! procedure (its argument type and codec, and its return value's codec), and `index.ts`
//! (`RemoteTables`, `RemoteReducers`, `RemoteProcedures`, the context types and
//! `DbConnection`, whose `procedures` return promises of the procedures' values). The output uses the `spacetime-sdk` npm package only through
//! `import * as __sdk from 'spacetime-sdk'` and holds no protocol logic.
//!
//! This file decides every name and type spelling; the templates in
//! `codegen/templates/typescript/` only lay them out.

mod names;
mod views;

use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeModel, ViewModel};
use crate::{render, CodegenError, Lang, OutputFile};

/// The TypeScript target.
#[derive(Debug, Clone, Copy, Default)]
pub struct TypeScript;

/// The comment every generated TypeScript file starts with.
const HEADER: &str = crate::generated_header!("//");

impl Lang for TypeScript {
    fn name(&self) -> &'static str {
        "TypeScript"
    }

    fn generated_type_names(&self) -> &'static [&'static str] {
        &[
            "DbConnection",
            "ErrorContext",
            "EventContext",
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
        let index = module
            .types
            .iter()
            .position(|t| std::ptr::eq(t, ty))
            .unwrap_or_else(|| {
                module
                    .types
                    .iter()
                    .position(|t| t == ty)
                    .expect("the type belongs to the module it is generated from")
            });
        let view = views::TypeFile::new(module, index);
        let path = format!("{}.ts", view.file);
        render(&view, "typescript/type.ts.jinja", path)
    }

    fn table_file(&self, module: &Module, table: &TableModel) -> Result<OutputFile, CodegenError> {
        let view = views::TableFile::new(module, table);
        let path = format!("{}.ts", view.file);
        render(&view, "typescript/table.ts.jinja", path)
    }

    fn reducer_file(&self, module: &Module, reducer: &ReducerModel) -> Result<OutputFile, CodegenError> {
        let view = views::ReducerFile::new(module, reducer);
        let path = format!("{}.ts", view.file);
        render(&view, "typescript/reducer.ts.jinja", path)
    }

    fn view_file(&self, module: &Module, view: &ViewModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::TableFile::for_view(module, view);
        let path = format!("{}.ts", view.file);
        render(&view, "typescript/table.ts.jinja", path).map(Some)
    }

    fn procedure_file(&self, module: &Module, procedure: &ProcedureModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::ProcedureFile::new(module, procedure);
        let path = format!("{}.ts", view.file);
        render(&view, "typescript/procedure.ts.jinja", path).map(Some)
    }

    fn global_files(&self, module: &Module) -> Result<Vec<OutputFile>, CodegenError> {
        let view = views::IndexFile::new(module);
        Ok(vec![render(&view, "typescript/index.ts.jinja", "index.ts".into())?])
    }
}
