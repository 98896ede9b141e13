//! Semijoins on indexed columns: the rows of one table that have a match in another,
//! `left_semijoin` keeping the left table's rows and `right_semijoin` the right's. Either
//! side may be filtered before or after the join.

use super::expr::{format_expr, BoolExpr};
use super::{CanBeLookupTable, ColumnRef, FromWhere, HasCols, HasIxCols, Query, RawQuery, Table, TableNameStr};
use std::marker::PhantomData;

/// An indexed column of table `T` whose values are `V`s: a join key.
pub struct IxCol<T, V> {
    pub(crate) col: ColumnRef<T>,
    _value: PhantomData<V>,
}

impl<T, V> IxCol<T, V> {
    /// Indexed column `column` of table `table`.
    pub fn new(table: TableNameStr, column: &'static str) -> Self {
        Self {
            col: ColumnRef::new(table, column),
            _value: PhantomData,
        }
    }

    /// The join condition `self = rhs`.
    pub fn eq<R: HasIxCols>(self, rhs: IxCol<R, V>) -> IxJoinEq<T, R, V> {
        IxJoinEq {
            lhs: self.col,
            rhs: rhs.col,
            _value: PhantomData,
        }
    }
}

impl<T, V> Clone for IxCol<T, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, V> Copy for IxCol<T, V> {}

/// A join condition: an indexed column of `L` equal to one of `R`.
pub struct IxJoinEq<L, R, V> {
    pub(crate) lhs: ColumnRef<L>,
    pub(crate) rhs: ColumnRef<R>,
    _value: PhantomData<V>,
}

/// The rows of `L` that match a row of another table.
pub struct LeftSemiJoin<L> {
    left: ColumnRef<L>,
    right_table: &'static str,
    right_column: &'static str,
    filter: Option<BoolExpr<L>>,
}

/// The rows of `R` that match a row of `L`.
pub struct RightSemiJoin<R, L> {
    left: ColumnRef<L>,
    right: ColumnRef<R>,
    left_filter: Option<BoolExpr<L>>,
    right_filter: Option<BoolExpr<R>>,
}

/// `a AND b`, where either may be missing.
fn and<T>(a: Option<BoolExpr<T>>, b: BoolExpr<T>) -> BoolExpr<T> {
    match a {
        Some(a) => a.and(b),
        None => b,
    }
}

/// The join condition `on` builds from the join keys of `left` and `right`.
fn join_on<L: HasIxCols, R: CanBeLookupTable, V>(
    left: TableNameStr,
    right: &Table<R>,
    on: impl Fn(&L::IxCols, &R::IxCols) -> IxJoinEq<L, R, V>,
) -> IxJoinEq<L, R, V> {
    on(&L::ix_cols(left), &R::ix_cols(right.name()))
}

impl<L: HasIxCols> Table<L> {
    /// The rows of this table that match a row of `right` on `on`.
    pub fn left_semijoin<R: CanBeLookupTable, V>(
        self,
        right: Table<R>,
        on: impl Fn(&L::IxCols, &R::IxCols) -> IxJoinEq<L, R, V>,
    ) -> LeftSemiJoin<L> {
        LeftSemiJoin::new(join_on(self.name(), &right, on), None)
    }

    /// The rows of `right` that match a row of this table on `on`.
    pub fn right_semijoin<R: CanBeLookupTable, V>(
        self,
        right: Table<R>,
        on: impl Fn(&L::IxCols, &R::IxCols) -> IxJoinEq<L, R, V>,
    ) -> RightSemiJoin<R, L> {
        RightSemiJoin::new(join_on(self.name(), &right, on), None)
    }
}

impl<L: HasIxCols> FromWhere<L> {
    /// The rows met so far that match a row of `right` on `on`.
    pub fn left_semijoin<R: CanBeLookupTable, V>(
        self,
        right: Table<R>,
        on: impl Fn(&L::IxCols, &R::IxCols) -> IxJoinEq<L, R, V>,
    ) -> LeftSemiJoin<L> {
        LeftSemiJoin::new(join_on(self.table, &right, on), Some(self.expr))
    }

    /// The rows of `right` that match a row met so far on `on`.
    pub fn right_semijoin<R: CanBeLookupTable, V>(
        self,
        right: Table<R>,
        on: impl Fn(&L::IxCols, &R::IxCols) -> IxJoinEq<L, R, V>,
    ) -> RightSemiJoin<R, L> {
        RightSemiJoin::new(join_on(self.table, &right, on), Some(self.expr))
    }
}

/// `SELECT "kept".* FROM "l" JOIN "r" ON "l"."a" = "r"."b"`, then ` WHERE ..` if any.
fn join_sql(kept: &str, left: &ColumnRef<impl Sized>, right: (&str, &str), conditions: &[String]) -> String {
    let (l, r) = (left.table_name(), right.0);
    let mut sql = format!(
        "SELECT \"{kept}\".* FROM \"{l}\" JOIN \"{r}\" ON \"{l}\".\"{}\" = \"{r}\".\"{}\"",
        left.column_name(),
        right.1
    );
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql
}

impl<L> LeftSemiJoin<L> {
    fn new<R, V>(join: IxJoinEq<L, R, V>, filter: Option<BoolExpr<L>>) -> Self {
        Self {
            left: join.lhs,
            right_table: join.rhs.table_name(),
            right_column: join.rhs.column_name(),
            filter,
        }
    }
}

impl<L: HasCols> LeftSemiJoin<L> {
    /// Also requires `f`'s condition on the kept rows.
    pub fn r#where<F, E>(self, f: F) -> Self
    where
        F: Fn(&L::Cols) -> E,
        E: Into<BoolExpr<L>>,
    {
        let more = f(&L::cols(self.left.table_name())).into();
        Self {
            filter: Some(and(self.filter, more)),
            ..self
        }
    }

    /// The same as [`LeftSemiJoin::r#where`].
    pub fn filter<F, E>(self, f: F) -> Self
    where
        F: Fn(&L::Cols) -> E,
        E: Into<BoolExpr<L>>,
    {
        self.r#where(f)
    }

    /// The query.
    pub fn build(self) -> RawQuery<L> {
        let conditions: Vec<String> = self.filter.iter().map(format_expr).collect();
        let right = (self.right_table, self.right_column);
        RawQuery::new(join_sql(self.left.table_name(), &self.left, right, &conditions))
    }
}

impl<R, L> RightSemiJoin<R, L> {
    fn new<V>(join: IxJoinEq<L, R, V>, left_filter: Option<BoolExpr<L>>) -> Self {
        Self {
            left: join.lhs,
            right: join.rhs,
            left_filter,
            right_filter: None,
        }
    }
}

impl<R: HasCols, L: HasCols> RightSemiJoin<R, L> {
    /// Also requires `f`'s condition on the kept (right) rows.
    pub fn r#where<F, E>(self, f: F) -> Self
    where
        F: Fn(&R::Cols) -> E,
        E: Into<BoolExpr<R>>,
    {
        let more = f(&R::cols(self.right.table_name())).into();
        Self {
            right_filter: Some(and(self.right_filter, more)),
            ..self
        }
    }

    /// The same as [`RightSemiJoin::r#where`].
    pub fn filter<F, E>(self, f: F) -> Self
    where
        F: Fn(&R::Cols) -> E,
        E: Into<BoolExpr<R>>,
    {
        self.r#where(f)
    }

    /// The query.
    pub fn build(self) -> RawQuery<R> {
        let left = self.left_filter.iter().map(format_expr);
        let conditions: Vec<String> = left.chain(self.right_filter.iter().map(format_expr)).collect();
        let right = (self.right.table_name(), self.right.column_name());
        RawQuery::new(join_sql(self.right.table_name(), &self.left, right, &conditions))
    }
}

impl<L: HasCols> Query<L> for LeftSemiJoin<L> {
    fn into_sql(self) -> String {
        self.build().into_sql()
    }
}

impl<R: HasCols, L: HasCols> Query<R> for RightSemiJoin<R, L> {
    fn into_sql(self) -> String {
        self.build().into_sql()
    }
}

impl<L: HasCols> From<LeftSemiJoin<L>> for RawQuery<L> {
    fn from(join: LeftSemiJoin<L>) -> Self {
        join.build()
    }
}

impl<R: HasCols, L: HasCols> From<RightSemiJoin<R, L>> for RawQuery<R> {
    fn from(join: RightSemiJoin<R, L>) -> Self {
        join.build()
    }
}
