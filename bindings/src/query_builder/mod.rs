//! The query builder (`spacetimedb::query_builder`, reached in a view as `ctx.from`): typed
//! queries of a module's tables that a view returns instead of rows (`-> impl Query<T>`).
//! The host runs the query and its result is the view's rows, kept current like any
//! view's.
//!
//! `#[table]` gives each row type its columns ([`HasCols`], [`Col`]) and its single-column
//! indexes ([`HasIxCols`], [`IxCol`], the join keys), and [`QueryBuilder`] (`ctx.from`) a
//! method per table returning its [`Table`]. A query is built with `r#where`/`filter`
//! (conditions over columns and literals, [`BoolExpr`]) and semijoins on indexed columns,
//! and becomes SQL text ([`Query::into_sql`], [`RawQuery`]) in the form SpacetimeDB's
//! query builder writes, which the host's SQL accepts: `SELECT * FROM "t" WHERE
//! ("t"."c" = 10)`.

mod expr;
mod join;

pub use expr::{format_expr, BoolExpr, LiteralValue, Operand, SqlLiteral, RHS};
pub use join::{IxCol, IxJoinEq, LeftSemiJoin, RightSemiJoin};

use spacetime_sats::{AlgebraicType, SpacetimeType, TypespaceBuilder};
use std::marker::PhantomData;

/// A table's name as a query writes it.
pub type TableNameStr = &'static str;

/// A query whose rows are `T`s: what a query-builder view returns (`-> impl Query<T>`).
pub trait Query<T> {
    /// The query's SQL text.
    fn into_sql(self) -> String;
}

/// A built query: its SQL text, typed by its rows. A view may name it as its return type.
pub struct RawQuery<T> {
    sql: String,
    _rows: PhantomData<T>,
}

impl<T> RawQuery<T> {
    /// The query `sql`, whose rows are `T`s.
    pub fn new(sql: String) -> Self {
        Self {
            sql,
            _rows: PhantomData,
        }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

impl<T> Query<T> for RawQuery<T> {
    fn into_sql(self) -> String {
        self.sql
    }
}

/// The name of the single element of the product a query view's return type describes as.
const QUERY_RETURN_TAG: &str = "__query__";

/// A query of `T` describes itself as the product `{ __query__: T }`: that is how the host
/// tells a view returning a query from one returning rows.
impl<T: SpacetimeType> SpacetimeType for RawQuery<T> {
    fn make_type<S: TypespaceBuilder>(typespace: &mut S) -> AlgebraicType {
        AlgebraicType::product([(QUERY_RETURN_TAG, T::make_type(typespace))])
    }
}

/// The columns of a table's rows, by name: `#[table]` implements it for the row type.
pub trait HasCols {
    /// A struct with one [`Col`] per column.
    type Cols;
    /// The columns of table `name`.
    fn cols(name: TableNameStr) -> Self::Cols;
}

/// The single-column indexes of a table's rows, by accessor: `#[table]` implements it.
pub trait HasIxCols {
    /// A struct with one [`IxCol`] per single-column index.
    type IxCols;
    /// The indexed columns of table `name`.
    fn ix_cols(name: TableNameStr) -> Self::IxCols;
}

/// A table that may be the looked-up side of a semijoin (every table but event tables).
pub trait CanBeLookupTable: HasIxCols {}

/// What `ctx.from` is: `#[table]` gives it one method per table, `ctx.from.my_table()`.
pub struct QueryBuilder {}

/// A table in a query: all of its rows until filtered.
pub struct Table<T> {
    name: TableNameStr,
    _rows: PhantomData<T>,
}

impl<T> Table<T> {
    /// The table named `name`.
    pub fn new(name: TableNameStr) -> Self {
        Self {
            name,
            _rows: PhantomData,
        }
    }

    pub(crate) fn name(&self) -> TableNameStr {
        self.name
    }
}

/// A column of table `T` whose values are `V`s.
pub struct Col<T, V> {
    pub(crate) col: ColumnRef<T>,
    _value: PhantomData<V>,
}

impl<T, V> Col<T, V> {
    /// Column `column` of table `table`.
    pub fn new(table: &'static str, column: &'static str) -> Self {
        Self {
            col: ColumnRef::new(table, column),
            _value: PhantomData,
        }
    }

    /// `self = rhs`.
    pub fn eq<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Eq(self.into(), rhs.to_expr())
    }

    /// `self <> rhs`.
    pub fn ne<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Ne(self.into(), rhs.to_expr())
    }

    /// `self > rhs`.
    pub fn gt<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Gt(self.into(), rhs.to_expr())
    }

    /// `self < rhs`.
    pub fn lt<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Lt(self.into(), rhs.to_expr())
    }

    /// `self >= rhs`.
    pub fn gte<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Gte(self.into(), rhs.to_expr())
    }

    /// `self <= rhs`.
    pub fn lte<R: RHS<T, V>>(self, rhs: R) -> BoolExpr<T> {
        BoolExpr::Lte(self.into(), rhs.to_expr())
    }
}

impl<T, V> Clone for Col<T, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, V> Copy for Col<T, V> {}

impl<T, V> From<Col<T, V>> for Operand<T> {
    fn from(col: Col<T, V>) -> Self {
        Operand::Column(col.col)
    }
}

/// A column of table `T`, untyped: `"table"."column"` in SQL.
pub struct ColumnRef<T> {
    table: &'static str,
    column: &'static str,
    _table: PhantomData<T>,
}

impl<T> ColumnRef<T> {
    pub(crate) fn new(table: &'static str, column: &'static str) -> Self {
        Self {
            table,
            column,
            _table: PhantomData,
        }
    }

    pub(crate) fn table_name(&self) -> &'static str {
        self.table
    }

    pub(crate) fn column_name(&self) -> &'static str {
        self.column
    }

    /// `"table"."column"`.
    pub(crate) fn sql(&self) -> String {
        format!("\"{}\".\"{}\"", self.table, self.column)
    }
}

impl<T> Clone for ColumnRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ColumnRef<T> {}

/// The rows of a table that meet a condition.
pub struct FromWhere<T> {
    pub(crate) table: TableNameStr,
    pub(crate) expr: BoolExpr<T>,
}

/// `SELECT * FROM "t"`, then ` WHERE ..` if there is a condition.
fn select_from(table: TableNameStr, condition: Option<&str>) -> String {
    match condition {
        Some(c) => format!("SELECT * FROM \"{table}\" WHERE {c}"),
        None => format!("SELECT * FROM \"{table}\""),
    }
}

impl<T: HasCols> Table<T> {
    /// The query of every row.
    pub fn build(self) -> RawQuery<T> {
        RawQuery::new(select_from(self.name, None))
    }

    /// The rows that meet `f`'s condition over the columns.
    pub fn r#where<F, E>(self, f: F) -> FromWhere<T>
    where
        F: Fn(&T::Cols) -> E,
        E: Into<BoolExpr<T>>,
    {
        FromWhere {
            table: self.name,
            expr: f(&T::cols(self.name)).into(),
        }
    }

    /// The same as [`Table::r#where`].
    pub fn filter<F, E>(self, f: F) -> FromWhere<T>
    where
        F: Fn(&T::Cols) -> E,
        E: Into<BoolExpr<T>>,
    {
        self.r#where(f)
    }
}

impl<T: HasCols> FromWhere<T> {
    /// Also requires `f`'s condition (`AND`).
    pub fn r#where<F, E>(self, f: F) -> Self
    where
        F: Fn(&T::Cols) -> E,
        E: Into<BoolExpr<T>>,
    {
        let more = f(&T::cols(self.table)).into();
        Self {
            table: self.table,
            expr: self.expr.and(more),
        }
    }

    /// The same as [`FromWhere::r#where`].
    pub fn filter<F, E>(self, f: F) -> Self
    where
        F: Fn(&T::Cols) -> E,
        E: Into<BoolExpr<T>>,
    {
        self.r#where(f)
    }

    /// The query.
    pub fn build(self) -> RawQuery<T> {
        RawQuery::new(select_from(self.table, Some(&format_expr(&self.expr))))
    }
}

impl<T: HasCols> Query<T> for Table<T> {
    fn into_sql(self) -> String {
        self.build().sql
    }
}

impl<T: HasCols> Query<T> for FromWhere<T> {
    fn into_sql(self) -> String {
        self.build().sql
    }
}

impl<T: HasCols> From<Table<T>> for RawQuery<T> {
    fn from(table: Table<T>) -> Self {
        table.build()
    }
}

impl<T: HasCols> From<FromWhere<T>> for RawQuery<T> {
    fn from(query: FromWhere<T>) -> Self {
        query.build()
    }
}

/// A call of a view with parameters, `SELECT * FROM "v"(1, 'a')`. The host accepts such a
/// call only whole, so it cannot be filtered or joined.
pub struct ViewCall<T> {
    view: TableNameStr,
    /// The arguments as SQL, comma-separated.
    args: String,
    _rows: PhantomData<T>,
}

impl<T> ViewCall<T> {
    /// A call of view `view` with `args`.
    pub fn new(view: TableNameStr, args: impl IntoIterator<Item = LiteralValue>) -> Self {
        let args: Vec<String> = args.into_iter().map(|a| a.0).collect();
        Self {
            view,
            args: args.join(", "),
            _rows: PhantomData,
        }
    }
}

impl<T: HasCols> ViewCall<T> {
    /// The query.
    pub fn build(self) -> RawQuery<T> {
        RawQuery::new(format!("SELECT * FROM \"{}\"({})", self.view, self.args))
    }
}

impl<T: HasCols> Query<T> for ViewCall<T> {
    fn into_sql(self) -> String {
        self.build().sql
    }
}

#[cfg(test)]
mod tests;
