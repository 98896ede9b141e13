//! The system tables as SQL reads them: `st_table`, `st_column`, `st_index`,
//! `st_constraint`, `st_sequence`, `st_client`, `st_var`, `st_scheduled`,
//! `st_row_level_security`, `st_connection_credentials`, `st_event_table` and the
//! `st_*_accessor` tables, with upstream's names, ids and column names.
//!
//! The datastore keeps no such tables: the schema is the module definition, the
//! connected clients are the engine's. So a query that names a system table runs on a
//! scratch [`Datastore`] holding just the system tables it names, filled from the
//! module, the datastore's schemas and sequences, and the [`SystemState`] the engine
//! passes. The rows are what the database is at the moment of the query; writing them
//! means nothing, so DML on a system table is refused, and so is a query that mixes
//! system tables with the module's tables (it would need both datastores).
//!
//! Types follow upstream's, except that identities and connection ids have their
//! special types (so they print as hex and compare with `:sender`) instead of the raw
//! `u256`/`u128` upstream stores. Ids the datastore does not keep are numbered here:
//! constraints and schedules count from 4096 in table order, as user tables do. The
//! metadata tables (`st_table`, `st_column`) list the system tables themselves too; the
//! others list the module's tables only. Not here: `st_module` (the engine keeps no
//! program bytes), and the views' `st_view*` tables.

use crate::lit::inline_refs;
use crate::parse::{SqlSelect, SqlStmt};
use crate::rls::RlsRules;
use crate::vars::SqlVars;
use crate::SqlError;
use spacetime_datastore::{Datastore, TableBuilder, TableSchema, FIRST_USER_TABLE_ID};
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::def::model::{IndexAlgorithm, ModuleDef};
use spacetime_sats::def::raw::{TableAccess, TableType};
use spacetime_sats::{AlgebraicType, AlgebraicValue, ColId, ConnectionId, Identity, ProductValue, Typespace};

/// What the engine knows that the datastore does not, for the system tables.
#[derive(Debug, Clone, Default)]
pub struct SystemState {
    /// The connected clients, `st_client`'s rows: WebSocket clients and the HTTP
    /// request running the statement.
    pub clients: Vec<(Identity, ConnectionId)>,
    /// The token payload of each connection, `st_connection_credentials`'s rows (a
    /// private table).
    pub credentials: Vec<(ConnectionId, String)>,
    /// The settings `SET` changes and `SHOW` and `st_var` read.
    pub vars: SqlVars,
}

/// What a system table's rows are made from.
struct Source<'a> {
    ds: &'a Datastore,
    rls: &'a RlsRules,
    state: &'a SystemState,
}

/// One system table: its upstream id and name, columns, primary key (for `st_table`),
/// access, and how to compute its rows.
struct SystemTable {
    id: u32,
    name: &'static str,
    columns: fn() -> Vec<(&'static str, AlgebraicType)>,
    primary_key: Option<u16>,
    private: bool,
    rows: fn(&Source<'_>) -> Vec<ProductValue>,
}

fn col_list() -> AlgebraicType {
    AlgebraicType::array(AlgebraicType::U16)
}

/// `StIndexAlgorithm`: `Unused(u128) | BTree { columns } | Direct { column } | Hash { columns }`.
fn index_algorithm_type() -> AlgebraicType {
    AlgebraicType::sum([
        ("Unused", AlgebraicType::U128),
        ("BTree", AlgebraicType::product([("columns", col_list())])),
        ("Direct", AlgebraicType::product([("column", AlgebraicType::U16)])),
        ("Hash", AlgebraicType::product([("columns", col_list())])),
    ])
}

/// `StConstraintData`: `Unused(u128) | Unique { columns }`.
fn constraint_data_type() -> AlgebraicType {
    AlgebraicType::sum([
        ("Unused", AlgebraicType::U128),
        ("Unique", AlgebraicType::product([("columns", col_list())])),
    ])
}

/// Every system table, by upstream id.
const SYSTEM_TABLES: &[SystemTable] = &[
    SystemTable {
        id: 1,
        name: "st_table",
        columns: || {
            vec![
                ("table_id", AlgebraicType::U32),
                ("table_name", AlgebraicType::String),
                ("table_type", AlgebraicType::String),
                ("table_access", AlgebraicType::String),
                ("table_primary_key", AlgebraicType::option(col_list())),
            ]
        },
        primary_key: Some(0),
        private: false,
        rows: st_table_rows,
    },
    SystemTable {
        id: 2,
        name: "st_column",
        columns: || {
            vec![
                ("table_id", AlgebraicType::U32),
                ("col_pos", AlgebraicType::U16),
                ("col_name", AlgebraicType::String),
                ("col_type", AlgebraicType::bytes()),
            ]
        },
        primary_key: None,
        private: false,
        rows: st_column_rows,
    },
    SystemTable {
        id: 3,
        name: "st_sequence",
        columns: || {
            vec![
                ("sequence_id", AlgebraicType::U32),
                ("sequence_name", AlgebraicType::String),
                ("table_id", AlgebraicType::U32),
                ("col_pos", AlgebraicType::U16),
                ("increment", AlgebraicType::I128),
                ("start", AlgebraicType::I128),
                ("min_value", AlgebraicType::I128),
                ("max_value", AlgebraicType::I128),
                ("allocated", AlgebraicType::I128),
            ]
        },
        primary_key: Some(0),
        private: false,
        rows: st_sequence_rows,
    },
    SystemTable {
        id: 4,
        name: "st_index",
        columns: || {
            vec![
                ("index_id", AlgebraicType::U32),
                ("table_id", AlgebraicType::U32),
                ("index_name", AlgebraicType::String),
                ("index_algorithm", index_algorithm_type()),
            ]
        },
        primary_key: Some(0),
        private: false,
        rows: st_index_rows,
    },
    SystemTable {
        id: 5,
        name: "st_constraint",
        columns: || {
            vec![
                ("constraint_id", AlgebraicType::U32),
                ("constraint_name", AlgebraicType::String),
                ("table_id", AlgebraicType::U32),
                ("constraint_data", constraint_data_type()),
            ]
        },
        primary_key: Some(0),
        private: false,
        rows: st_constraint_rows,
    },
    SystemTable {
        id: 7,
        name: "st_client",
        columns: || {
            vec![
                ("identity", AlgebraicType::identity()),
                ("connection_id", AlgebraicType::connection_id()),
            ]
        },
        primary_key: None,
        private: false,
        rows: |src| {
            src.state
                .clients
                .iter()
                .map(|(identity, connection)| row([identity_value(*identity), connection_value(*connection)]))
                .collect()
        },
    },
    SystemTable {
        id: 8,
        name: "st_var",
        columns: || vec![("name", AlgebraicType::String), ("value", crate::vars::value_type())],
        primary_key: Some(0),
        private: false,
        rows: |src| {
            src.state
                .vars
                .iter()
                .map(|(name, value)| row([AlgebraicValue::string(name), crate::vars::value_of(value)]))
                .collect()
        },
    },
    SystemTable {
        id: 9,
        name: "st_scheduled",
        columns: || {
            vec![
                ("schedule_id", AlgebraicType::U32),
                ("table_id", AlgebraicType::U32),
                ("reducer_name", AlgebraicType::String),
                ("schedule_name", AlgebraicType::String),
                ("at_column", AlgebraicType::U16),
            ]
        },
        primary_key: Some(0),
        private: false,
        rows: st_scheduled_rows,
    },
    SystemTable {
        id: 10,
        name: "st_row_level_security",
        columns: || vec![("table_id", AlgebraicType::U32), ("sql", AlgebraicType::String)],
        primary_key: Some(1),
        private: false,
        rows: |src| {
            src.rls
                .filters()
                .map(|(table, sql)| row([AlgebraicValue::U32(table.0), AlgebraicValue::string(sql)]))
                .collect()
        },
    },
    SystemTable {
        id: 11,
        name: "st_connection_credentials",
        columns: || {
            vec![
                ("connection_id", AlgebraicType::connection_id()),
                ("jwt_payload", AlgebraicType::String),
            ]
        },
        primary_key: Some(0),
        private: true,
        rows: |src| {
            src.state
                .credentials
                .iter()
                .map(|(connection, jwt)| row([connection_value(*connection), AlgebraicValue::string(jwt.as_str())]))
                .collect()
        },
    },
    SystemTable {
        id: 17,
        name: "st_event_table",
        columns: || vec![("table_id", AlgebraicType::U32)],
        primary_key: Some(0),
        private: false,
        rows: |src| {
            user_tables(src)
                .filter(|t| t.def.is_event)
                .map(|t| row([AlgebraicValue::U32(t.table_id.0)]))
                .collect()
        },
    },
    SystemTable {
        id: 18,
        name: "st_table_accessor",
        columns: || {
            vec![
                ("table_name", AlgebraicType::String),
                ("accessor_name", AlgebraicType::String),
            ]
        },
        primary_key: None,
        private: false,
        rows: |src| {
            user_tables(src)
                .map(|t| row([string(&t.def.name), string(&t.def.accessor_name)]))
                .collect()
        },
    },
    SystemTable {
        id: 19,
        name: "st_index_accessor",
        columns: || {
            vec![
                ("index_name", AlgebraicType::String),
                ("accessor_name", AlgebraicType::String),
            ]
        },
        primary_key: None,
        private: false,
        rows: |src| {
            user_tables(src)
                .flat_map(|t| &t.def.indexes)
                .filter_map(|ix| Some(row([string(&ix.name), string(ix.accessor_name.as_ref()?)])))
                .collect()
        },
    },
    SystemTable {
        id: 20,
        name: "st_column_accessor",
        columns: || {
            vec![
                ("table_name", AlgebraicType::String),
                ("col_name", AlgebraicType::String),
                ("accessor_name", AlgebraicType::String),
            ]
        },
        primary_key: None,
        private: false,
        rows: |src| {
            user_tables(src)
                .flat_map(|t| {
                    t.def
                        .columns
                        .iter()
                        .map(|c| row([string(&t.def.name), string(&c.name), string(&c.accessor_name)]))
                })
                .collect()
        },
    },
];

fn row<const N: usize>(values: [AlgebraicValue; N]) -> ProductValue {
    ProductValue::new(values.into())
}

fn string(s: &str) -> AlgebraicValue {
    AlgebraicValue::string(s)
}

fn identity_value(identity: Identity) -> AlgebraicValue {
    AlgebraicValue::product(vec![AlgebraicValue::from(identity.to_u256())])
}

fn connection_value(connection: ConnectionId) -> AlgebraicValue {
    AlgebraicValue::product(vec![AlgebraicValue::U128(connection.to_u128())])
}

fn columns_value(cols: &[ColId]) -> AlgebraicValue {
    AlgebraicValue::array(cols.iter().map(|c| AlgebraicValue::U16(c.0)).collect())
}

/// The module's tables in the datastore (the datastore's own system tables, if any,
/// are not the module's).
fn user_tables<'a>(src: &'a Source<'_>) -> impl Iterator<Item = &'a TableSchema> + 'a {
    src.ds.tables().filter(|t| t.def.table_type == TableType::User)
}

fn st_table_rows(src: &Source<'_>) -> Vec<ProductValue> {
    let system = SYSTEM_TABLES.iter().map(|t| {
        let access = if t.private { "private" } else { "public" };
        let pk = t.primary_key.map(|c| columns_value(&[ColId(c)]));
        row([
            AlgebraicValue::U32(t.id),
            string(t.name),
            string("system"),
            string(access),
            pk.map_or_else(AlgebraicValue::none, AlgebraicValue::some),
        ])
    });
    let user = user_tables(src).map(|t| {
        let access = match t.def.access {
            TableAccess::Public => "public",
            TableAccess::Private => "private",
        };
        let pk = t.def.primary_key.map(|c| columns_value(&[c]));
        row([
            AlgebraicValue::U32(t.table_id.0),
            string(&t.def.name),
            string("user"),
            string(access),
            pk.map_or_else(AlgebraicValue::none, AlgebraicValue::some),
        ])
    });
    system.chain(user).collect()
}

fn st_column_rows(src: &Source<'_>) -> Vec<ProductValue> {
    let column = |table: u32, pos: usize, name: &str, ty: &AlgebraicType| {
        row([
            AlgebraicValue::U32(table),
            AlgebraicValue::U16(pos as u16),
            string(name),
            AlgebraicValue::bytes(spacetime_sats::bsatn::to_vec(ty)),
        ])
    };
    let mut rows = Vec::new();
    for t in SYSTEM_TABLES {
        for (pos, (name, ty)) in (t.columns)().iter().enumerate() {
            rows.push(column(t.id, pos, name, ty));
        }
    }
    for t in user_tables(src) {
        for (pos, c) in t.def.columns.iter().enumerate() {
            rows.push(column(t.table_id.0, pos, &c.name, &inline_refs(&c.ty, &t.typespace)));
        }
    }
    rows
}

fn st_sequence_rows(src: &Source<'_>) -> Vec<ProductValue> {
    let mut rows = Vec::new();
    for t in user_tables(src) {
        let states = src.ds.sequence_states(t.table_id).unwrap_or_default();
        for (id, name, col) in &t.sequences {
            let Some(def) = t.def.sequences.iter().find(|s| s.column == *col) else {
                continue;
            };
            let next = states.iter().find(|(c, _)| c == col).and_then(|(_, next)| *next);
            rows.push(row([
                AlgebraicValue::U32(id.0),
                string(name),
                AlgebraicValue::U32(t.table_id.0),
                AlgebraicValue::U16(col.0),
                AlgebraicValue::I128(def.increment),
                AlgebraicValue::I128(def.start),
                AlgebraicValue::I128(def.min_value),
                AlgebraicValue::I128(def.max_value),
                // Upstream's `allocated` is a lower bound on the next value; an exhausted
                // sequence has handed out everything up to its maximum.
                AlgebraicValue::I128(next.unwrap_or(def.max_value)),
            ]));
        }
    }
    rows
}

fn st_index_rows(src: &Source<'_>) -> Vec<ProductValue> {
    let mut rows = Vec::new();
    for t in user_tables(src) {
        for ix in &t.indexes {
            let cols = ix.columns.as_slice();
            // The definition says which algorithm the module asked for; an index the
            // datastore added for a unique constraint is a btree.
            let algorithm = t.def.indexes.iter().find(|d| d.name == ix.name).map(|d| &d.algorithm);
            let (tag, payload) = match algorithm {
                Some(IndexAlgorithm::Hash { .. }) => (3, columns_value(cols)),
                Some(IndexAlgorithm::Direct { column }) => (2, AlgebraicValue::U16(column.0)),
                _ => (1, columns_value(cols)),
            };
            rows.push(row([
                AlgebraicValue::U32(ix.index_id.0),
                AlgebraicValue::U32(t.table_id.0),
                string(&ix.name),
                AlgebraicValue::sum(tag, AlgebraicValue::product(vec![payload])),
            ]));
        }
    }
    rows
}

fn st_constraint_rows(src: &Source<'_>) -> Vec<ProductValue> {
    user_tables(src)
        .flat_map(|t| t.def.unique_constraints.iter().map(move |c| (t.table_id, c)))
        .enumerate()
        .map(|(i, (table, c))| {
            row([
                AlgebraicValue::U32(FIRST_USER_TABLE_ID + i as u32),
                string(&c.name),
                AlgebraicValue::U32(table.0),
                AlgebraicValue::sum(1, AlgebraicValue::product(vec![columns_value(&c.columns)])),
            ])
        })
        .collect()
}

fn st_scheduled_rows(src: &Source<'_>) -> Vec<ProductValue> {
    user_tables(src)
        .filter_map(|t| Some((t.table_id, t.def.schedule.as_ref()?)))
        .enumerate()
        .map(|(i, (table, s))| {
            row([
                AlgebraicValue::U32(FIRST_USER_TABLE_ID + i as u32),
                AlgebraicValue::U32(table.0),
                string(&s.function_name),
                string(&s.name),
                AlgebraicValue::U16(s.at_column.0),
            ])
        })
        .collect()
}

/// Whether `name` is a system table (and not a table of `module`, which cannot start
/// with `st_`, but the module wins if it ever does).
pub fn is_system_table(name: &str, module: &ModuleDef) -> bool {
    module.table(name).is_none() && SYSTEM_TABLES.iter().any(|t| t.name == name)
}

/// The tables a statement reads or writes, as written.
fn tables_of(stmt: &SqlStmt) -> Vec<&str> {
    match stmt {
        SqlStmt::Select(SqlSelect { from, joins, .. }) => std::iter::once(from.name.as_str())
            .chain(joins.iter().map(|j| j.table.name.as_str()))
            .collect(),
        SqlStmt::Insert { table, .. } => vec![table.as_str()],
        SqlStmt::Update { table, .. } | SqlStmt::Delete { table, .. } => vec![table.name.as_str()],
        SqlStmt::Set { .. } | SqlStmt::Show { .. } => Vec::new(),
    }
}

/// If `stmt` reads system tables, the scratch datastore holding them, to check and run
/// it on; `None` if it names none.
///
/// # Errors
/// DML on a system table, and a query joining system tables with the module's.
pub(crate) fn for_statement(
    stmt: &SqlStmt,
    module: &ModuleDef,
    ds: &Datastore,
    rls: &RlsRules,
    state: &SystemState,
) -> Result<Option<Datastore>, SqlError> {
    let tables = tables_of(stmt);
    let system: Vec<&str> = tables.iter().copied().filter(|t| is_system_table(t, module)).collect();
    let Some(first) = system.first() else {
        return Ok(None);
    };
    if !matches!(stmt, SqlStmt::Select(_)) {
        return Err(SqlError::unsupported(
            format!("changing the system table `{first}`"),
            "system tables describe the database and change with it: publish the module, or use `SET` for settings",
        ));
    }
    if let Some(user) = tables.iter().find(|t| !is_system_table(t, module)) {
        return Err(SqlError::unsupported(
            format!("joining the system table `{first}` with the table `{user}`"),
            "query system tables on their own, or join them only with each other",
        ));
    }
    let src = Source { ds, rls, state };
    materialize(&system, &src).map(Some)
}

/// A datastore with the system tables named in `names`, filled.
fn materialize(names: &[&str], src: &Source<'_>) -> Result<Datastore, SqlError> {
    let mut scratch = Datastore::new();
    for t in SYSTEM_TABLES.iter().filter(|t| names.contains(&t.name)) {
        // A user table of the scratch datastore: the real datastore's system tables are
        // views' backing tables, which SQL reaches only through the view's name.
        let mut builder = TableBuilder::new(t.name);
        for (name, ty) in (t.columns)() {
            builder = builder.column(name, ty);
        }
        if t.private {
            builder = builder.private();
        }
        let id = scratch.create_table(&builder.build(), &Typespace::default())?;
        let rows = (t.rows)(src);
        let mut tx = scratch.begin_mut_tx();
        for r in rows {
            tx.insert_bsatn(id, &value_to_vec(&AlgebraicValue::Product(r)))?;
        }
        tx.commit();
    }
    Ok(scratch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        for (i, a) in SYSTEM_TABLES.iter().enumerate() {
            for b in &SYSTEM_TABLES[i + 1..] {
                assert_ne!(a.id, b.id, "{} and {}", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
            assert!(a.id < FIRST_USER_TABLE_ID);
        }
    }
}
