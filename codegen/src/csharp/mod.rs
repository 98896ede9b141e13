//! C# bindings, for the `sdks/csharp` runtime (namespace `SpacetimeDB`), in the namespace
//! given by `--namespace` (default `SpacetimeDB.Types`).
//!
//! Output, for a module with table `user` (row type `User`) and reducer `set_name`:
//! `Types/User.g.cs` (the row class with PascalCase properties and its BSATN codec),
//! `Tables/User.g.cs` (`RemoteTables.UserHandle` and the field `conn.Db.User`, with `Find`
//! on unique columns), `Reducers/SetName.g.cs` (`Reducer.SetName`, the method
//! `conn.Reducers.SetName(…)` and the event `OnSetName`) and `SpacetimeDBClient.g.cs` (the
//! contexts, `SubscriptionBuilder` and `DbConnection` with `Builder()`). A view `online` is
//! `Views/Online.g.cs`, a read-only handle like a table's (`conn.Db.Online`, `Find` and
//! `OnUpdate` when it has a primary key); a procedure `add` is `Procedures/Add.g.cs`, the
//! method `conn.Procedures.Add(…)` returning a `Task` of its value. Every context also runs
//! one-off queries (`Query(sql)`). The code keeps to C# 7 so Mono's `mcs` compiles it, and
//! holds no protocol logic.
//!
//! This file decides every name and type spelling; the templates in
//! `codegen/templates/csharp/` only lay them out.

mod names;
mod views;

use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeModel, ViewModel};
use crate::{render, CodegenError, Lang, OutputFile};

/// The C# target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSharp {
    namespace: String,
}

impl CSharp {
    /// The namespace generated code goes in when none is given.
    pub const DEFAULT_NAMESPACE: &'static str = "SpacetimeDB.Types";

    /// Bindings in `namespace` (`--namespace`; checked when generating).
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }

    fn namespace(&self) -> Result<&str, CodegenError> {
        if names::is_namespace(&self.namespace) {
            Ok(&self.namespace)
        } else {
            Err(CodegenError::Unsupported {
                location: "the --namespace option".into(),
                what: format!(
                    "the namespace `{}` (not a dotted name of identifiers like `SpacetimeDB.Types`)",
                    self.namespace
                ),
                lang: "C#",
            })
        }
    }
}

impl Default for CSharp {
    fn default() -> Self {
        Self::new(Self::DEFAULT_NAMESPACE)
    }
}

/// The comment every generated C# file starts with.
const HEADER: &str = crate::generated_header!("//");

impl Lang for CSharp {
    fn name(&self) -> &'static str {
        "C#"
    }

    fn generated_type_names(&self) -> &'static [&'static str] {
        &[
            "DbConnection",
            "ErrorContext",
            "EventContext",
            "IRemoteDbContext",
            "Reducer",
            "ReducerEventContext",
            "RemoteDbContext",
            "RemoteProcedures",
            "RemoteReducers",
            "RemoteTables",
            "SubscriptionBuilder",
            "SubscriptionEventContext",
        ]
    }

    fn type_name(&self, ty: &TypeModel) -> String {
        names::type_name(ty)
    }

    fn line_comment(&self) -> &'static str {
        "//"
    }

    fn type_file(&self, module: &Module, ty: &TypeModel) -> Result<OutputFile, CodegenError> {
        let view = views::TypeFile::new(module, self.namespace()?, ty)?;
        let path = format!("Types/{}.g.cs", view.name);
        render(&view, "csharp/type.cs.jinja", path)
    }

    fn table_file(&self, module: &Module, table: &TableModel) -> Result<OutputFile, CodegenError> {
        let view = views::TableFile::new(module, self.namespace()?, table)?;
        let path = format!("Tables/{}.g.cs", view.field);
        render(&view, "csharp/table.cs.jinja", path)
    }

    fn reducer_file(&self, module: &Module, reducer: &ReducerModel) -> Result<OutputFile, CodegenError> {
        let view = views::ReducerFile::new(module, self.namespace()?, reducer)?;
        let path = format!("Reducers/{}.g.cs", view.class);
        render(&view, "csharp/reducer.cs.jinja", path)
    }

    fn view_file(&self, module: &Module, view: &ViewModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::TableFile::for_view(module, self.namespace()?, view)?;
        let path = format!("Views/{}.g.cs", view.field);
        render(&view, "csharp/table.cs.jinja", path).map(Some)
    }

    fn procedure_file(&self, module: &Module, procedure: &ProcedureModel) -> Result<Option<OutputFile>, CodegenError> {
        let view = views::ProcedureFile::new(module, self.namespace()?, procedure)?;
        let path = format!("Procedures/{}.g.cs", view.method);
        render(&view, "csharp/procedure.cs.jinja", path).map(Some)
    }

    fn global_files(&self, module: &Module) -> Result<Vec<OutputFile>, CodegenError> {
        let view = views::ClientFile::new(module, self.namespace()?);
        Ok(vec![render(
            &view,
            "csharp/client.cs.jinja",
            "SpacetimeDBClient.g.cs".into(),
        )?])
    }
}
