//! Validation of one table: columns, indexes, unique constraints, the primary key,
//! sequences and column defaults.

use super::error::ValidationError;
use super::names::{self, check_identifier, describe_type};
use super::{IndexIn, TableIn, Validator, Version};
use crate::bsatn::value::decode_value;
use crate::def::model::{ColumnDef, IndexAlgorithm, IndexDef, SequenceDef, TableDef, UniqueConstraintDef};
use crate::def::raw::{RawIndexAlgorithm, RawSequenceDefV10, TableType};
use crate::{AlgebraicType, ColId, ProductType};
use std::collections::HashSet;

/// The largest value a sequence on a column of type `ty` can produce.
fn type_max(ty: &AlgebraicType) -> i128 {
    match ty {
        AlgebraicType::I8 => i8::MAX.into(),
        AlgebraicType::U8 => u8::MAX.into(),
        AlgebraicType::I16 => i16::MAX.into(),
        AlgebraicType::U16 => u16::MAX.into(),
        AlgebraicType::I32 => i32::MAX.into(),
        AlgebraicType::U32 => u32::MAX.into(),
        AlgebraicType::I64 => i64::MAX.into(),
        AlgebraicType::U64 => u64::MAX.into(),
        _ => i128::MAX,
    }
}

/// What a table validation needs about the table while checking its parts.
struct TableCtx<'a> {
    /// The canonical table name (errors and generated names use it).
    name: String,
    /// The row type after case conversion.
    row: &'a ProductType,
}

impl TableCtx<'_> {
    fn column_name(&self, col: u16) -> String {
        self.row
            .elements
            .get(usize::from(col))
            .and_then(|e| e.name())
            .map_or_else(|| col.to_string(), str::to_owned)
    }
}

impl Validator<'_> {
    /// Checks that every column of `cols` exists and none repeats.
    fn check_columns(&mut self, ctx: &TableCtx<'_>, def: &str, cols: &[u16]) -> bool {
        let mut ok = true;
        let mut seen = HashSet::new();
        for &col in cols {
            if usize::from(col) >= ctx.row.elements.len() {
                self.err(ValidationError::ColumnNotFound {
                    table: ctx.name.clone(),
                    def: def.to_owned(),
                    col,
                    num_columns: ctx.row.elements.len(),
                });
                ok = false;
            } else if !seen.insert(col) {
                self.err(ValidationError::DuplicateColumns {
                    table: ctx.name.clone(),
                    def: def.to_owned(),
                    col,
                });
                ok = false;
            }
        }
        ok
    }

    pub(super) fn validate_table(&mut self, t: TableIn) -> Option<TableDef> {
        let ts = self.ts;
        let Some(row) = ts.get(t.product_type_ref).and_then(AlgebraicType::as_product) else {
            self.err(ValidationError::InvalidRowType {
                table: t.source_name,
                type_ref: t.product_type_ref.0,
            });
            return None;
        };
        let source_row = self
            .source_ts
            .get(t.product_type_ref)
            .and_then(AlgebraicType::as_product)
            .unwrap_or(row);
        let name = self.namer.table(&t.source_name);
        let ctx = TableCtx {
            name: name.clone(),
            row,
        };
        let errors_before = self.errors.len();

        if self.ident(|| "table".to_owned(), &t.source_name) && name != t.source_name {
            self.ident(|| format!("canonical name of table `{}`", t.source_name), &name);
        }
        if t.table_type != TableType::System && name.starts_with("st_") {
            self.err(ValidationError::ReservedTableName { table: name.clone() });
        }

        let columns = self.validate_columns(&ctx, source_row);
        let indexes: Vec<IndexDef> = t
            .indexes
            .into_iter()
            .enumerate()
            .filter_map(|(i, index)| self.validate_index(&ctx, i, index))
            .collect();

        let mut unique_constraints = Vec::new();
        for (given, cols) in t.constraints {
            let cname = match (self.version, given) {
                (Version::V9, Some(n)) => n,
                _ => names::unique_constraint_name(&name, row, &cols),
            };
            self.add_global(&cname);
            if !self.check_columns(&ctx, &format!("unique constraint `{cname}`"), &cols) {
                continue;
            }
            let as_set: HashSet<u16> = cols.iter().copied().collect();
            if !indexes
                .iter()
                .any(|i| i.algorithm.columns().iter().map(|c| c.0).collect::<HashSet<_>>() == as_set)
            {
                self.err(ValidationError::UniqueConstraintWithoutIndex {
                    table: name.clone(),
                    constraint: cname.clone(),
                    columns: cols.iter().map(|&c| ctx.column_name(c)).collect::<Vec<_>>().join(", "),
                });
            }
            unique_constraints.push(UniqueConstraintDef {
                name: cname,
                columns: cols.into_iter().map(ColId).collect(),
            });
        }

        let primary_key = self.validate_primary_key(&ctx, &t.primary_key, &unique_constraints);

        let mut sequence_columns = HashSet::new();
        let sequences: Vec<SequenceDef> = t
            .sequences
            .into_iter()
            .filter_map(|s| self.validate_sequence(&ctx, s, &mut sequence_columns))
            .collect();

        // The source name is an alias of the table in the global namespace.
        self.add_global(&t.source_name);
        if name != t.source_name {
            self.add_global(&name);
        }

        let mut table = TableDef {
            name,
            accessor_name: t.source_name,
            product_type_ref: t.product_type_ref,
            row_type: row.clone(),
            columns,
            primary_key,
            indexes,
            unique_constraints,
            sequences,
            schedule: None,
            table_type: t.table_type,
            access: t.table_access,
            is_event: t.is_event,
            default_values: Vec::new(),
        };
        for (col, value) in t.default_values {
            self.attach_default(&mut table, col, &value);
        }
        (self.errors.len() == errors_before).then_some(table)
    }

    /// The columns of a row type that is not a table's (a view's rows, named `name`),
    /// checked as a table's columns are.
    pub(super) fn row_columns(&mut self, name: &str, row: &ProductType, source_row: &ProductType) -> Vec<ColumnDef> {
        let ctx = TableCtx {
            name: name.to_owned(),
            row,
        };
        self.validate_columns(&ctx, source_row)
    }

    fn validate_columns(&mut self, ctx: &TableCtx<'_>, source_row: &ProductType) -> Vec<ColumnDef> {
        let mut columns = Vec::with_capacity(ctx.row.elements.len());
        for (i, elem) in ctx.row.elements.iter().enumerate() {
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            let accessor = source_row.elements.get(i).and_then(|e| e.name());
            let (Some(canonical), Some(accessor)) = (elem.name(), accessor) else {
                self.err(ValidationError::UnnamedColumn {
                    table: ctx.name.clone(),
                    col,
                });
                continue;
            };
            if self.ident(|| format!("column of table `{}`", ctx.name), accessor) && canonical != accessor {
                self.ident(
                    || format!("canonical name of column `{}.{accessor}`", ctx.name),
                    canonical,
                );
            }
            if !super::types::is_client_usable(&elem.algebraic_type) {
                self.err(ValidationError::NotClientUsable {
                    location: format!("column `{}.{accessor}`", ctx.name),
                    ty: describe_type(&elem.algebraic_type),
                });
            }
            columns.push(ColumnDef {
                col_id: ColId(col),
                name: canonical.to_owned(),
                accessor_name: accessor.to_owned(),
                ty: elem.algebraic_type.clone(),
            });
        }
        columns
    }

    fn validate_index(&mut self, ctx: &TableCtx<'_>, position: usize, index: IndexIn) -> Option<IndexDef> {
        let (cols, algo): (Vec<u16>, &str) = match &index.algorithm {
            RawIndexAlgorithm::BTree(c) => (c.columns.clone(), "btree"),
            RawIndexAlgorithm::Hash(c) => (c.columns.clone(), "hash"),
            RawIndexAlgorithm::Direct(c) => (vec![c.column], "direct"),
        };
        let generated = names::index_name(&ctx.name, ctx.row, &cols, algo);
        let (name, source_name) = match (self.version, index.source_name) {
            (Version::V10, None) => {
                self.err(ValidationError::UnnamedIndex {
                    table: ctx.name.clone(),
                    position,
                });
                return None;
            }
            (Version::V10, Some(source)) => {
                self.add_global(&source);
                let name = self.namer.explicit_index(&source).unwrap_or(generated);
                if name != source {
                    self.add_global(&name);
                }
                (name, source)
            }
            (Version::V9, given) => {
                let name = given.unwrap_or(generated);
                self.add_global(&name);
                (name.clone(), name)
            }
        };
        self.ident(|| format!("index of table `{}`", ctx.name), &name);
        let accessor_name = index.accessor_name.map(|a| match self.version {
            Version::V10 => a,
            Version::V9 => names::convert(&a, self.namer.field_casing()),
        });
        if let Some(a) = &accessor_name {
            if let Err(e) = check_identifier(&format!("accessor of index `{name}`"), a) {
                self.err(e);
            }
        }
        if !self.check_columns(ctx, &format!("index `{name}`"), &cols) {
            return None;
        }
        let to_ids = |cols: Vec<u16>| cols.into_iter().map(ColId).collect();
        let algorithm = match index.algorithm {
            RawIndexAlgorithm::BTree(_) => IndexAlgorithm::BTree { columns: to_ids(cols) },
            RawIndexAlgorithm::Hash(_) => IndexAlgorithm::Hash { columns: to_ids(cols) },
            RawIndexAlgorithm::Direct(c) => {
                let ty = &ctx.row.elements[usize::from(c.column)].algebraic_type;
                let simple_enum = |t: &AlgebraicType| t.as_sum().is_some_and(|s| s.is_simple_enum());
                let ok = match ty {
                    AlgebraicType::U8 | AlgebraicType::U16 | AlgebraicType::U32 | AlgebraicType::U64 => true,
                    AlgebraicType::Ref(r) => self.ts.get(*r).is_some_and(simple_enum),
                    other => simple_enum(other),
                };
                if !ok {
                    self.err(ValidationError::DirectIndexOnBadType {
                        table: ctx.name.clone(),
                        index: name.clone(),
                        column: ctx.column_name(c.column),
                        ty: describe_type(ty),
                    });
                    return None;
                }
                IndexAlgorithm::Direct {
                    column: ColId(c.column),
                }
            }
        };
        Some(IndexDef {
            name,
            source_name,
            accessor_name,
            algorithm,
        })
    }

    fn validate_primary_key(
        &mut self,
        ctx: &TableCtx<'_>,
        primary_key: &[u16],
        constraints: &[UniqueConstraintDef],
    ) -> Option<ColId> {
        match primary_key {
            [] => None,
            [pk] => {
                if !self.check_columns(ctx, "the primary key", &[*pk]) {
                    return None;
                }
                if !constraints.iter().any(|c| c.columns == [ColId(*pk)]) {
                    self.err(ValidationError::PrimaryKeyNotUnique {
                        table: ctx.name.clone(),
                        column: ctx.column_name(*pk),
                    });
                }
                Some(ColId(*pk))
            }
            many => {
                self.err(ValidationError::MultiColumnPrimaryKey {
                    table: ctx.name.clone(),
                    count: many.len(),
                });
                None
            }
        }
    }

    fn validate_sequence(
        &mut self,
        ctx: &TableCtx<'_>,
        s: RawSequenceDefV10,
        seen: &mut HashSet<u16>,
    ) -> Option<SequenceDef> {
        let name = s
            .source_name
            .unwrap_or_else(|| names::sequence_name(&ctx.name, ctx.row, s.column));
        self.add_global(&name);
        if !self.check_columns(ctx, &format!("sequence `{name}`"), &[s.column]) {
            return None;
        }
        let ty = &ctx.row.elements[usize::from(s.column)].algebraic_type;
        if !ty.is_integer() {
            self.err(ValidationError::SequenceNotInteger {
                table: ctx.name.clone(),
                sequence: name,
                column: ctx.column_name(s.column),
                ty: describe_type(ty),
            });
            return None;
        }
        if !seen.insert(s.column) {
            self.err(ValidationError::DuplicateSequence {
                table: ctx.name.clone(),
                column: ctx.column_name(s.column),
            });
        }
        if s.increment == 0 {
            self.err(ValidationError::SequenceZeroIncrement {
                table: ctx.name.clone(),
                sequence: name.clone(),
            });
        }
        // Unset bounds default as in SpacetimeDB: min 1 (or a lower explicit start), start
        // at min, max at the largest value the column type holds.
        let min_value = s.min_value.unwrap_or_else(|| s.start.map_or(1, |start| start.min(1)));
        let start = s.start.unwrap_or(min_value);
        let max_value = s.max_value.unwrap_or_else(|| type_max(ty));
        if !(min_value <= start && start <= max_value) {
            let show =
                |x: Option<i128>, filled: i128| x.map_or_else(|| format!("{filled} (default)"), |x| x.to_string());
            self.err(ValidationError::SequenceRange {
                table: ctx.name.clone(),
                sequence: name,
                min: show(s.min_value, min_value),
                start: show(s.start, start),
                max: show(s.max_value, max_value),
            });
            return None;
        }
        Some(SequenceDef {
            name,
            column: ColId(s.column),
            start,
            min_value,
            max_value,
            increment: s.increment,
        })
    }

    /// Decodes a column default at the column's type and records it on `table`.
    pub(super) fn attach_default(&mut self, table: &mut TableDef, col: u16, value: &[u8]) {
        let Some(column) = table.columns.get(usize::from(col)) else {
            self.err(ValidationError::ColumnNotFound {
                table: table.name.clone(),
                def: "a default value".to_owned(),
                col,
                num_columns: table.columns.len(),
            });
            return;
        };
        if table.default_values.iter().any(|(c, _)| c.0 == col) {
            self.err(ValidationError::DuplicateDefaultValue {
                table: table.name.clone(),
                col,
            });
            return;
        }
        let mut input = value;
        match decode_value(&column.ty, self.ts, &mut input) {
            Ok(v) => table.default_values.push((ColId(col), v)),
            Err(e) => self.err(ValidationError::DefaultValueMalformed {
                table: table.name.clone(),
                col,
                reason: e.to_string(),
            }),
        }
    }
}
