//! The TypeScript target: a file per table (its definition and typed handle class), per
//! named type (a TypeScript type plus its BSATN codec, under one name), per reducer (its
//! argument type and codec), and `index.ts` (`RemoteTables`, `RemoteReducers`, the context
//! types and `DbConnection`). The output uses the `spacetime-sdk` npm package only through
//! `import * as __sdk from 'spacetime-sdk'` and holds no protocol logic.
//!
//! This file decides every name and type spelling; the templates in
//! `codegen/templates/typescript/` only lay them out.

mod names;
mod views;

use crate::model::{Module, ReducerModel, TableModel, TypeModel};
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

    fn global_files(&self, module: &Module) -> Result<Vec<OutputFile>, CodegenError> {
        let view = views::IndexFile::new(module);
        Ok(vec![render(&view, "typescript/index.ts.jinja", "index.ts".into())?])
    }
}
