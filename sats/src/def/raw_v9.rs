//! The legacy V9 module definition (SpacetimeDB 1.x), still accepted by the server.

use super::codec::{sats_enum, sats_struct};
use super::raw::RawConstraintDataV9;
use super::raw::{Lifecycle, RawIndexAlgorithm, RawRowLevelSecurityDefV9, TableAccess, TableType};
use crate::{AlgebraicType, AlgebraicTypeRef, ProductType, Typespace};

sats_struct! {
    /// The V9 module definition.
    pub struct RawModuleDefV9 {
        /// The types.
        pub typespace: Typespace,
        /// Tables.
        pub tables: Vec<RawTableDefV9>,
        /// Reducers, with their lifecycle inline.
        pub reducers: Vec<RawReducerDefV9>,
        /// Names for typespace entries.
        pub types: Vec<RawTypeDefV9>,
        /// Column defaults, procedures and views.
        pub misc_exports: Vec<RawMiscModuleExportV9>,
        /// Row-level security filters.
        pub row_level_security: Vec<RawRowLevelSecurityDefV9>,
    }
}

sats_struct! {
    /// A V9 table; the schedule lives inside it.
    pub struct RawTableDefV9 {
        /// The table name.
        pub name: String,
        /// The row type.
        pub product_type_ref: AlgebraicTypeRef,
        /// The primary key column, if any.
        pub primary_key: Vec<u16>,
        /// Indexes.
        pub indexes: Vec<RawIndexDefV9>,
        /// Constraints.
        pub constraints: Vec<RawConstraintDefV9>,
        /// Sequences.
        pub sequences: Vec<RawSequenceDefV9>,
        /// The schedule, for a scheduled table.
        pub schedule: Option<RawScheduleDefV9>,
        /// System or user table.
        pub table_type: TableType,
        /// Public or private.
        pub table_access: TableAccess,
    }
}

sats_struct! {
    /// A V9 index.
    pub struct RawIndexDefV9 {
        /// The index name; generated when absent.
        pub name: Option<String>,
        /// The accessor the module uses.
        pub accessor_name: Option<String>,
        /// Which columns and how.
        pub algorithm: RawIndexAlgorithm,
    }
}

sats_struct! {
    /// A V9 constraint.
    pub struct RawConstraintDefV9 {
        /// The constraint name; generated when absent.
        pub name: Option<String>,
        /// What it constrains.
        pub data: RawConstraintDataV9,
    }
}

sats_struct! {
    /// A V9 sequence.
    pub struct RawSequenceDefV9 {
        /// The sequence name; generated when absent.
        pub name: Option<String>,
        /// The column it fills.
        pub column: u16,
        /// The first value.
        pub start: Option<i128>,
        /// The smallest value.
        pub min_value: Option<i128>,
        /// The largest value.
        pub max_value: Option<i128>,
        /// The step.
        pub increment: i128,
    }
}

sats_struct! {
    /// A V9 schedule.
    pub struct RawScheduleDefV9 {
        /// The schedule name; generated when absent.
        pub name: Option<String>,
        /// The reducer the rows call.
        pub reducer_name: String,
        /// The `ScheduleAt` column.
        pub scheduled_at_column: u16,
    }
}

sats_struct! {
    /// A V9 reducer.
    pub struct RawReducerDefV9 {
        /// The reducer name.
        pub name: String,
        /// Its parameters.
        pub params: ProductType,
        /// Its lifecycle role, if any.
        pub lifecycle: Option<Lifecycle>,
    }
}

sats_struct! {
    /// A V9 scoped type name.
    pub struct RawScopedTypeNameV9 {
        /// The enclosing scopes.
        pub scope: Vec<String>,
        /// The type's own name.
        pub name: String,
    }
}

sats_struct! {
    /// Names a V9 typespace entry.
    pub struct RawTypeDefV9 {
        /// The type's name.
        pub name: RawScopedTypeNameV9,
        /// The entry it names.
        pub ty: AlgebraicTypeRef,
        /// If false, the elements must be sorted by name.
        pub custom_ordering: bool,
    }
}

sats_enum! {
    /// Exports V9 keeps outside its main lists.
    pub enum RawMiscModuleExportV9 {
        /// A column default.
        ColumnDefaultValue(RawColumnDefaultValueV9),
        /// A procedure.
        Procedure(RawProcedureDefV9),
        /// A view.
        View(RawViewDefV9),
    }
}

sats_struct! {
    /// A V9 column default.
    pub struct RawColumnDefaultValueV9 {
        /// The table.
        pub table: String,
        /// The column position.
        pub col_id: u16,
        /// The BSATN of the value.
        pub value: Vec<u8>,
    }
}

sats_struct! {
    /// A V9 procedure.
    pub struct RawProcedureDefV9 {
        /// The procedure name.
        pub name: String,
        /// Its parameters.
        pub params: ProductType,
        /// What it returns.
        pub return_type: AlgebraicType,
    }
}

sats_struct! {
    /// A V9 view.
    pub struct RawViewDefV9 {
        /// The view name.
        pub name: String,
        /// Its position among views of its kind.
        pub index: u32,
        /// Whether clients may read it.
        pub is_public: bool,
        /// Whether it ignores the caller.
        pub is_anonymous: bool,
        /// Its parameters.
        pub params: ProductType,
        /// What it returns.
        pub return_type: AlgebraicType,
    }
}
