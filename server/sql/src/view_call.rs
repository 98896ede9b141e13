//! Calls of views with parameters: a query names such a view as a table-valued function,
//! `SELECT * FROM items_by_owner(0x01.., 10)`, as SpacetimeDB's query builder writes it.
//! The arguments are literals typed against the view's parameters and encoded as the
//! BSATN of their product, the bytes the module's `__call_view__` receives; the engine
//! keeps one materialisation per (view, caller of a per-caller view, arguments), and
//! [`resolve`] gives both the engine and the checker the same arguments for a name.
//!
//! Also the other half of a query-builder view (`-> impl Query<T>`): the module returns
//! SQL text, and [`view_query`] runs it as the module would read the tables (private
//! tables included, no row-level security), giving the view's rows and what the query
//! read (part of the view's read set): for a filter of one table that an index serves,
//! only the index key or range it looked up, so a change to other rows of the table does
//! not evaluate the view again; otherwise every table it names, whole.

use crate::error::SqlError;
use crate::lit;
use crate::parse::{self, SqlStmt, SqlTable};
use crate::plan::{Access, Plan, Projection, SelectPlan};
use crate::{check, exec, SqlAuth};
use spacetime_datastore::{Datastore, IndexKey};
use spacetime_sats::bsatn::value::encode_value;
use spacetime_sats::def::model::{ModuleDef, ViewDef};
use spacetime_sats::{AlgebraicValue, Identity, ProductValue, TableId};

/// A view named in a query, with the arguments of the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewCall<'m> {
    /// The view.
    pub view: &'m ViewDef,
    /// The BSATN of its arguments (empty for a view without parameters).
    pub args: Vec<u8>,
}

/// The view `table` names, with its call's arguments checked and encoded; `None` when it
/// names no view.
///
/// # Errors
/// A view with parameters named without arguments (or with the wrong number or types of
/// them), or arguments given to something that is not a view with parameters.
pub fn resolve<'m>(module: &'m ModuleDef, table: &SqlTable) -> Result<Option<ViewCall<'m>>, SqlError> {
    let view = module.view(&table.name);
    let params = view.map(|v| &v.params.elements[..]).unwrap_or_default();
    let signature = || {
        (params.iter())
            .map(|p| {
                let ty = lit::type_name(&p.algebraic_type, &module.typespace);
                format!("{}: {ty}", p.name().unwrap_or("_"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (view, args) = match (view, &table.args) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(SqlError::Name(format!(
                "`{}(..)`: only a view with parameters can be called with arguments, and `{}` is not one; name a table \
                 without arguments",
                table.name, table.name
            )))
        }
        (Some(view), None) if params.is_empty() => return Ok(Some(ViewCall { view, args: Vec::new() })),
        (Some(view), None) => {
            return Err(SqlError::Name(format!(
                "view `{}` takes arguments ({}): call it as `SELECT * FROM {}(..)` with a value for each",
                view.name,
                signature(),
                table.name
            )))
        }
        (Some(view), Some(_)) if params.is_empty() => {
            return Err(SqlError::Name(format!(
                "view `{}` takes no arguments: write `FROM {}` without parentheses",
                view.name, table.name
            )))
        }
        (Some(view), Some(args)) => (view, args),
    };
    if args.len() != params.len() {
        return Err(SqlError::Type(format!(
            "view `{}` takes {} argument(s) ({}), but the call gives {}",
            view.name,
            params.len(),
            signature(),
            args.len()
        )));
    }
    let values = (args.iter().zip(params).enumerate())
        .map(|(i, (arg, param))| {
            lit::convert(arg, &param.algebraic_type, &module.typespace).map_err(|e| {
                SqlError::Type(format!(
                    "argument {} (`{}`) of view `{}`: `{arg}` does not fit: {e}",
                    i + 1,
                    param.name().unwrap_or("_"),
                    view.name
                ))
            })
        })
        .collect::<Result<Vec<AlgebraicValue>, _>>()?;
    let mut bytes = Vec::new();
    encode_value(&AlgebraicValue::Product(ProductValue::new(values)), &mut bytes);
    Ok(Some(ViewCall { view, args: bytes }))
}

/// The calls of views with parameters in `sql` (a `SELECT`): what the engine must
/// materialise before the query is checked. Text that does not parse, and calls that do
/// not check, give nothing: checking the query reports them.
pub fn view_calls<'m>(sql: &str, module: &'m ModuleDef) -> Vec<ViewCall<'m>> {
    // Most modules have no view with parameters: their queries need no second parse.
    if module.views.iter().all(|v| v.params.elements.is_empty()) {
        return Vec::new();
    }
    let Ok(SqlStmt::Select(select)) = parse::parse(sql) else {
        return Vec::new();
    };
    std::iter::once(&select.from)
        .chain(select.joins.iter().map(|j| &j.table))
        .filter(|t| t.args.is_some())
        .filter_map(|t| resolve(module, t).ok().flatten())
        .collect()
}

/// What a query-builder view's query read.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryRead {
    /// A whole table.
    All(TableId),
    /// The rows of one index key or range.
    Key(IndexKey),
}

/// What `select` reads: the key or range its index access looks up when it reads one
/// table, else each of its tables whole. The filter is checked on every row the access
/// yields, so a row outside the key can neither enter nor leave the result.
fn query_reads(select: &SelectPlan, ds: &Datastore) -> Vec<QueryRead> {
    let whole = || select.relations.iter().map(|r| QueryRead::All(r.table_id)).collect();
    if !select.joins.is_empty() {
        return whole();
    }
    let table = select.relations[0].table_id;
    let columns = |index| ds.index_schema(index).ok().map(|(_, ix)| ix.columns.clone());
    let key = match &select.access {
        Access::Scan => None,
        Access::IndexPoint { index, key } => columns(*index).map(|columns| {
            let values = match key {
                AlgebraicValue::Product(key) if columns.len() > 1 => key.elements.to_vec(),
                key => vec![key.clone()],
            };
            IndexKey {
                table,
                columns,
                values,
                range: None,
            }
        }),
        Access::IndexRange {
            index,
            prefix,
            start,
            end,
        } => columns(*index)
            .filter(|columns| columns.len() > prefix.len())
            .map(|columns| IndexKey {
                table,
                columns: columns[..=prefix.len()].to_vec(),
                values: prefix.clone(),
                range: Some((start.clone(), end.clone())),
            }),
    };
    key.map_or_else(whole, |key| vec![QueryRead::Key(key)])
}

/// The rows of a query-builder view: the BSATN of each row of the query `sql` that
/// `view` returned, and what the query read.
///
/// # Errors
/// The query does not parse or check, is not a `SELECT` of whole rows, or its rows are
/// not the view's row type.
pub fn view_query(
    sql: &str,
    view: &ViewDef,
    module: &ModuleDef,
    ds: &Datastore,
) -> Result<(Vec<Vec<u8>>, Vec<QueryRead>), SqlError> {
    // As the database itself: private tables are readable and no filter applies, as
    // when a view's function reads the tables.
    let auth = SqlAuth {
        caller: Identity::ZERO,
        owner: Identity::ZERO,
    };
    let Plan::Select(select) = check::check(&parse::parse(sql)?, &auth, module, ds)? else {
        return Err(SqlError::unsupported(
            "a statement other than SELECT as a view's query",
            "return a query built with `ctx.from`",
        ));
    };
    let Projection::Relation(rel) = select.projection else {
        return Err(SqlError::unsupported(
            "a projection of columns or a count as a view's query",
            "select whole rows, `SELECT * FROM t` or `SELECT t.* FROM t JOIN ..`",
        ));
    };
    let row_type = |ty: &spacetime_sats::ProductType, ts| {
        (ty.elements.iter())
            .map(|e| lit::inline_refs(&e.algebraic_type, ts))
            .collect::<Vec<_>>()
    };
    let table = &select.relations[rel];
    let schema = ds.table_schema(table.table_id)?;
    if row_type(&schema.def.row_type, &schema.typespace) != row_type(&view.row_type, &module.typespace) {
        return Err(SqlError::Type(format!(
            "view `{}` returned a query of `{}`, whose rows are not the view's row type",
            view.name, table.table_name
        )));
    }
    let rows = exec::select_bsatn(&select, ds, usize::MAX)?;
    Ok((rows, query_reads(&select, ds)))
}
