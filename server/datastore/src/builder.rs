//! [`TableBuilder`]: a validated [`TableDef`] built by hand, for tests and benches.
//!
//! Modules describe their tables through the raw module definition, which validation
//! turns into a `TableDef`. Tests of the datastore, SQL and host layers need tables
//! without a module; this builder names indexes, constraints and sequences the way
//! validation does (`{table}_{cols}_idx_btree`, `{table}_{cols}_key`,
//! `{table}_{col}_seq`).

use spacetime_sats::def::model::{ColumnDef, IndexAlgorithm, IndexDef, SequenceDef, TableDef, UniqueConstraintDef};
use spacetime_sats::def::raw::{TableAccess, TableType};
use spacetime_sats::{AlgebraicType, AlgebraicTypeRef, ColId, ProductType, ProductTypeElement};

/// Builds a [`TableDef`] column by column.
///
/// Methods that name columns panic on a name not added yet: the builder is for
/// fixed test fixtures, where that is a typo in the test.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    def: TableDef,
}

impl TableBuilder {
    /// A public user table called `name` (also its accessor name), with no columns.
    pub fn new(name: &str) -> Self {
        Self {
            def: TableDef {
                name: name.to_owned(),
                accessor_name: name.to_owned(),
                product_type_ref: AlgebraicTypeRef(0),
                row_type: ProductType::default(),
                columns: Vec::new(),
                primary_key: None,
                indexes: Vec::new(),
                unique_constraints: Vec::new(),
                sequences: Vec::new(),
                schedule: None,
                table_type: TableType::User,
                access: TableAccess::Public,
                is_event: false,
                default_values: Vec::new(),
            },
        }
    }

    /// Adds a column.
    pub fn column(mut self, name: &str, ty: AlgebraicType) -> Self {
        let col_id = ColId(self.def.columns.len() as u16);
        self.def
            .row_type
            .elements
            .push(ProductTypeElement::named(name, ty.clone()));
        self.def.columns.push(ColumnDef {
            col_id,
            name: name.to_owned(),
            accessor_name: name.to_owned(),
            ty,
        });
        self
    }

    fn col(&self, name: &str) -> ColId {
        self.def
            .column(name)
            .unwrap_or_else(|| panic!("TableBuilder: no column `{name}` in `{}`", self.def.name))
            .col_id
    }

    fn cols(&self, names: &[&str]) -> Vec<ColId> {
        names.iter().map(|n| self.col(n)).collect()
    }

    fn index(mut self, names: &[&str], algorithm: IndexAlgorithm, suffix: &str) -> Self {
        let name = format!("{}_{}_idx_{suffix}", self.def.name, names.join("_"));
        self.def.indexes.push(IndexDef {
            source_name: name.clone(),
            name,
            accessor_name: Some(names.join("_")),
            algorithm,
        });
        self
    }

    /// Adds a btree index on `cols`.
    pub fn btree(self, cols: &[&str]) -> Self {
        let columns = self.cols(cols);
        self.index(cols, IndexAlgorithm::BTree { columns }, "btree")
    }

    /// Adds a hash index on `cols`.
    pub fn hash(self, cols: &[&str]) -> Self {
        let columns = self.cols(cols);
        self.index(cols, IndexAlgorithm::Hash { columns }, "hash")
    }

    /// Adds a direct index on `col`.
    pub fn direct(self, col: &str) -> Self {
        let column = self.col(col);
        self.index(&[col], IndexAlgorithm::Direct { column }, "direct")
    }

    /// Adds a unique constraint on `cols` (without an index; add one, or the datastore
    /// adds a btree).
    pub fn unique_constraint(mut self, cols: &[&str]) -> Self {
        let columns = self.cols(cols);
        let name = format!("{}_{}_key", self.def.name, cols.join("_"));
        self.def.unique_constraints.push(UniqueConstraintDef { name, columns });
        self
    }

    /// Adds a unique constraint on `cols` with a btree index.
    pub fn unique(self, cols: &[&str]) -> Self {
        self.unique_constraint(cols).btree(cols)
    }

    /// Makes `col` the primary key: unique, with a btree index.
    pub fn primary_key(mut self, col: &str) -> Self {
        self.def.primary_key = Some(self.col(col));
        self.unique(&[col])
    }

    /// Makes `col` auto-increment: a sequence from 1 up to the type's maximum.
    pub fn auto_inc(mut self, col: &str) -> Self {
        let column = self.col(col);
        let name = format!("{}_{col}_seq", self.def.name);
        self.def.sequences.push(SequenceDef {
            name,
            column,
            start: 1,
            min_value: 1,
            max_value: i128::MAX,
            increment: 1,
        });
        self
    }

    /// Sets the last sequence's range, for overflow tests.
    pub fn sequence_range(mut self, start: i128, min_value: i128, max_value: i128) -> Self {
        if let Some(seq) = self.def.sequences.last_mut() {
            (seq.start, seq.min_value, seq.max_value) = (start, min_value, max_value);
        }
        self
    }

    /// Makes the table private.
    pub fn private(mut self) -> Self {
        self.def.access = TableAccess::Private;
        self
    }

    /// Makes the table a system table.
    pub fn system(mut self) -> Self {
        self.def.table_type = TableType::System;
        self
    }

    /// Makes the table an event table (rows are published, never kept).
    pub fn event(mut self) -> Self {
        self.def.is_event = true;
        self
    }

    /// Sets the accessor name (the canonical name stays).
    pub fn accessor(mut self, name: &str) -> Self {
        name.clone_into(&mut self.def.accessor_name);
        self
    }

    /// The finished definition.
    pub fn build(self) -> TableDef {
        self.def
    }
}
