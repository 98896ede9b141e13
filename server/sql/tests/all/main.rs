//! Integration tests of the SQL layer: a table of queries with their expected rows or
//! errors, plan choices (indexes), DML statistics and permissions.

mod cases;
mod dml;
mod limits;
mod plans;
mod rls;
mod system_tables;
mod view_calls;

use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::CaseConversionPolicy;
use spacetime_sats::{AlgebraicType, AlgebraicValue, Identity, ProductValue, Timestamp, Typespace};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::{execute, Catalog, SqlAuth, SqlError, SqlOutcome};

pub fn owner() -> Identity {
    Identity::from_hex(format!("c200{}01", "0".repeat(58))).unwrap()
}

pub fn other() -> Identity {
    Identity::from_hex(format!("c200{}02", "0".repeat(58))).unwrap()
}

pub fn id_value(id: Identity) -> AlgebraicValue {
    AlgebraicValue::product(vec![AlgebraicValue::from(id.to_u256())])
}

pub fn ts_value(micros: i64) -> AlgebraicValue {
    AlgebraicValue::product(vec![AlgebraicValue::I64(micros)])
}

/// The test database: its module definition and a datastore with its tables filled.
pub struct Db {
    pub module: ModuleDef,
    pub ds: Datastore,
    /// The module's row-level security filters (none unless a test sets some).
    pub rls: RlsRules,
}

impl Default for Db {
    fn default() -> Self {
        Self::new()
    }
}

impl Db {
    pub fn new() -> Self {
        let color = AlgebraicType::simple_enum(["Red", "Green", "Blue"]);
        let typespace = Typespace::new(vec![color]);
        let tables = vec![
            TableBuilder::new("user")
                .accessor("User")
                .column("identity", AlgebraicType::identity())
                .column("name", AlgebraicType::String)
                .column("online", AlgebraicType::Bool)
                .primary_key("identity")
                .build(),
            TableBuilder::new("message")
                .column("id", AlgebraicType::U64)
                .column("sender", AlgebraicType::identity())
                .column("text", AlgebraicType::String)
                .column("sent", AlgebraicType::timestamp())
                .primary_key("id")
                .auto_inc("id")
                .btree(&["sender"])
                .build(),
            TableBuilder::new("secret")
                .column("k", AlgebraicType::U32)
                .column("v", AlgebraicType::String)
                .private()
                .build(),
            TableBuilder::new("scores")
                .column("player", AlgebraicType::U32)
                .column("level", AlgebraicType::U8)
                .column("score", AlgebraicType::I64)
                .column("color", AlgebraicType::Ref(spacetime_sats::AlgebraicTypeRef(0)))
                .btree(&["player", "level"])
                .hash(&["score"])
                .build(),
            TableBuilder::new("item")
                .column("id", AlgebraicType::U32)
                .column("owner", AlgebraicType::U32)
                .primary_key("id")
                .build(),
        ];
        let mut ds = Datastore::new();
        for t in &tables {
            ds.create_table(t, &typespace).unwrap();
        }
        let module = ModuleDef {
            typespace,
            types: vec![],
            tables,
            reducers: vec![],
            procedures: vec![],
            environment: vec![],
            http_handlers: vec![],
            http_routes: vec![],
            views: vec![],
            case_conversion_policy: CaseConversionPolicy::SnakeCase,
            row_level_security: vec![],
        };
        let mut db = Self {
            module,
            ds,
            rls: RlsRules::default(),
        };
        db.owner("INSERT INTO user VALUES (0xc200000000000000000000000000000000000000000000000000000000000001, 'alice', TRUE)").unwrap();
        db.owner(&format!(
            "INSERT INTO user VALUES ('{}', 'bob', FALSE)",
            other().to_hex()
        ))
        .unwrap();
        db.owner(&format!(
            "INSERT INTO message VALUES (0, 0x{}, 'hi', '1970-01-01T00:00:01Z'), (0, 0x{}, 'yo', '1970-01-01T00:00:02Z'), (0, 0x{}, 'hey', '1970-01-01T00:00:03Z')",
            owner().to_hex(),
            other().to_hex(),
            owner().to_hex()
        ))
        .unwrap();
        db.owner("INSERT INTO secret VALUES (1, 'x')").unwrap();
        let mut scores = Vec::new();
        for player in 1..=3u32 {
            for level in 1..=3u8 {
                let color = ["Red", "Green", "Blue"][usize::from(level - 1)];
                scores.push(format!(
                    "({player}, {level}, {}, '{color}')",
                    i64::from(player) * 100 - i64::from(level) * 10
                ));
            }
        }
        db.owner(&format!("INSERT INTO scores VALUES {}", scores.join(", ")))
            .unwrap();
        db.owner("INSERT INTO item (owner, id) VALUES (1, 10), (2, 20), (1, 30), (9, 40)")
            .unwrap();
        db
    }

    pub fn run(&mut self, caller: Identity, sql: &str) -> Result<SqlOutcome, SqlError> {
        let catalog = Catalog {
            module: &self.module,
            rls: &self.rls,
        };
        execute(sql, &SqlAuth { caller, owner: owner() }, catalog, &mut self.ds)
    }

    pub fn owner(&mut self, sql: &str) -> Result<SqlOutcome, SqlError> {
        self.run(owner(), sql)
    }
}

/// Rows as sorted lists of values, for order-independent comparison.
pub fn sorted(rows: Vec<ProductValue>) -> Vec<Vec<AlgebraicValue>> {
    let mut rows = rows.into_iter().map(|r| r.elements).collect::<Vec<_>>();
    rows.sort();
    rows
}

pub fn ts(s: &str) -> AlgebraicValue {
    ts_value(Timestamp::parse_rfc3339(s).unwrap().to_micros_since_unix_epoch())
}
