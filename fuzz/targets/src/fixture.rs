//! The fixed module the SQL and HTTP-arguments targets run against: a raw V10 definition
//! built in code (so it goes through the real validator, and doubles as a module-definition
//! seed), with tables and reducer parameters covering every column type the server accepts.

use spacetime_datastore::Datastore;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::{
    CaseConversionPolicy, FunctionVisibility, RawConstraintDataV9, RawConstraintDefV10, RawIndexAlgorithm,
    RawIndexColumns, RawIndexDefV10, RawModuleDef, RawModuleDefV10, RawModuleDefV10Section, RawReducerDefV10,
    RawRowLevelSecurityDefV9, RawScopedTypeNameV10, RawSequenceDefV10, RawTableDefV10, RawTypeDefV10,
    RawUniqueConstraintDataV9, TableAccess, TableType,
};
use spacetime_sats::{AlgebraicType as T, AlgebraicTypeRef, ProductType, Typespace};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::{execute, Catalog, SqlAuth};
use std::sync::OnceLock;

/// The database owner: the caller that may see private tables and run DML.
pub const OWNER: [u8; 32] = [0xc2; 32];

/// Another caller: sees public tables only.
pub const OTHER: [u8; 32] = [0x11; 32];

/// Text only the owner may read: the private table's value and the owner's own message,
/// which the row-level security filter on `message` hides from everyone else.
pub const OWNER_ONLY: [&str; 2] = ["owner-only secret", "owner-only message"];

/// The module's row-level security filter: a client sees only the messages it sent.
const MESSAGE_FILTER: &str = "SELECT * FROM message WHERE sender = :sender";

/// Rows the fixture database starts with (run by the owner).
const SEED_ROWS: &[&str] = &[
    "INSERT INTO user VALUES (0xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2, 'alice', TRUE)",
    "INSERT INTO user VALUES (0x1111111111111111111111111111111111111111111111111111111111111111, 'bob', FALSE)",
    "INSERT INTO message VALUES \
     (0, 0xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2, 'owner-only message', '1970-01-01T00:00:01Z'), \
     (0, 0x1111111111111111111111111111111111111111111111111111111111111111, 'yo', 2000000)",
    "INSERT INTO score VALUES (1, 1, 90, 'red'), (1, 2, 80, 'green'), (2, 1, -5, 'blue'), (3, 3, 0, 'red')",
    "INSERT INTO secret VALUES (7, 'owner-only secret')",
];

/// A raw V10 module definition under construction.
#[derive(Default)]
struct Builder {
    typespace: Typespace,
    types: Vec<RawTypeDefV10>,
    tables: Vec<RawTableDefV10>,
    reducers: Vec<RawReducerDefV10>,
}

impl Builder {
    fn named_type(&mut self, scope: &[&str], name: &str, ty: T) -> AlgebraicTypeRef {
        let r = self.typespace.add(ty);
        self.types.push(RawTypeDefV10 {
            source_name: RawScopedTypeNameV10 {
                scope: scope.iter().map(|s| (*s).to_owned()).collect(),
                source_name: name.to_owned(),
            },
            ty: r,
            custom_ordering: true,
        });
        r
    }

    /// Adds a public user table whose row type is `columns`.
    fn table(&mut self, name: &str, columns: Vec<(&str, T)>) -> &mut RawTableDefV10 {
        let row = self.named_type(&[name], "Row", T::product(columns));
        self.tables.push(RawTableDefV10 {
            source_name: name.to_owned(),
            product_type_ref: row,
            primary_key: vec![],
            indexes: vec![],
            constraints: vec![],
            sequences: vec![],
            table_type: TableType::User,
            table_access: TableAccess::Public,
            default_values: vec![],
            is_event: false,
        });
        let last = self.tables.len() - 1;
        &mut self.tables[last]
    }

    fn reducer(&mut self, name: &str, params: Vec<(&str, T)>) {
        self.reducers.push(RawReducerDefV10 {
            source_name: name.to_owned(),
            params: ProductType::named(params),
            visibility: FunctionVisibility::ClientCallable,
            ok_return_type: T::unit(),
            err_return_type: T::String,
        });
    }

    fn build(self) -> RawModuleDef {
        RawModuleDef::V10(RawModuleDefV10 {
            sections: vec![
                RawModuleDefV10Section::Typespace(self.typespace),
                RawModuleDefV10Section::Types(self.types),
                RawModuleDefV10Section::Tables(self.tables),
                RawModuleDefV10Section::Reducers(self.reducers),
                RawModuleDefV10Section::RowLevelSecurity(vec![RawRowLevelSecurityDefV9 {
                    sql: MESSAGE_FILTER.to_owned(),
                }]),
                RawModuleDefV10Section::CaseConversionPolicy(CaseConversionPolicy::SnakeCase),
            ],
        })
    }
}

fn btree(name: &str, columns: &[u16]) -> RawIndexDefV10 {
    RawIndexDefV10 {
        source_name: Some(name.to_owned()),
        accessor_name: Some(name.to_owned()),
        algorithm: RawIndexAlgorithm::BTree(RawIndexColumns {
            columns: columns.to_vec(),
        }),
    }
}

fn hash(name: &str, columns: &[u16]) -> RawIndexDefV10 {
    RawIndexDefV10 {
        source_name: Some(name.to_owned()),
        accessor_name: Some(name.to_owned()),
        algorithm: RawIndexAlgorithm::Hash(RawIndexColumns {
            columns: columns.to_vec(),
        }),
    }
}

fn unique(columns: &[u16]) -> RawConstraintDefV10 {
    RawConstraintDefV10 {
        source_name: None,
        data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 {
            columns: columns.to_vec(),
        }),
    }
}

/// The fixture's raw definition, exactly as a module's `__describe_module__` would write it.
pub fn raw_module_def() -> RawModuleDef {
    let mut m = Builder::default();
    let color = m.named_type(&[], "Color", T::simple_enum(["red", "green", "blue"]));
    let point = m.named_type(&[], "Point", T::product([("x", T::F32), ("y", T::F32)]));
    let shape = m.named_type(
        &[],
        "Shape",
        T::sum([
            ("circle", T::F64),
            ("poly", T::array(T::Ref(point))),
            ("empty", T::unit()),
        ]),
    );

    let user = m.table(
        "user",
        vec![("identity", T::identity()), ("name", T::String), ("online", T::Bool)],
    );
    user.primary_key = vec![0];
    user.constraints = vec![unique(&[0])];
    user.indexes = vec![btree("user_identity_idx_btree", &[0])];

    let message = m.table(
        "message",
        vec![
            ("id", T::U64),
            ("sender", T::identity()),
            ("text", T::String),
            ("sent", T::timestamp()),
        ],
    );
    message.primary_key = vec![0];
    message.constraints = vec![unique(&[0])];
    message.indexes = vec![
        btree("message_id_idx_btree", &[0]),
        btree("message_sender_idx_btree", &[1]),
    ];
    message.sequences = vec![RawSequenceDefV10 {
        source_name: None,
        column: 0,
        start: None,
        min_value: None,
        max_value: None,
        increment: 1,
    }];

    let score = m.table(
        "score",
        vec![
            ("player", T::U32),
            ("level", T::U8),
            ("points", T::I64),
            ("color", T::Ref(color)),
        ],
    );
    score.indexes = vec![
        btree("score_player_level_idx_btree", &[0, 1]),
        hash("score_points_idx_hash", &[2]),
    ];

    let secret = m.table("secret", vec![("k", T::U32), ("v", T::String)]);
    secret.table_access = TableAccess::Private;

    let every = every_type(color, point, shape);
    m.table("every", every.clone());

    m.reducer("no_args", vec![]);
    m.reducer("send_message", vec![("text", T::String)]);
    m.reducer(
        "add_score",
        vec![
            ("player", T::U32),
            ("level", T::U8),
            ("points", T::I64),
            ("color", T::Ref(color)),
        ],
    );
    m.reducer("draw", vec![("shapes", T::array(T::Ref(shape))), ("at", T::Ref(point))]);
    m.reducer("every", every);
    m.build()
}

/// One column or parameter of every type a client can send.
fn every_type(color: AlgebraicTypeRef, point: AlgebraicTypeRef, shape: AlgebraicTypeRef) -> Vec<(&'static str, T)> {
    vec![
        ("b", T::Bool),
        ("i8", T::I8),
        ("u8", T::U8),
        ("i16", T::I16),
        ("u16", T::U16),
        ("i32", T::I32),
        ("u32", T::U32),
        ("i64", T::I64),
        ("u64", T::U64),
        ("i128", T::I128),
        ("u128", T::U128),
        ("i256", T::I256),
        ("u256", T::U256),
        ("f32", T::F32),
        ("f64", T::F64),
        ("s", T::String),
        ("bytes", T::bytes()),
        ("list", T::array(T::String)),
        ("nested", T::array(T::array(T::I32))),
        ("opt", T::option(T::U64)),
        ("who", T::identity()),
        ("conn", T::connection_id()),
        ("at", T::timestamp()),
        ("dur", T::time_duration()),
        ("uuid", T::uuid()),
        ("color", T::Ref(color)),
        ("point", T::Ref(point)),
        ("shape", T::Ref(shape)),
    ]
}

/// The fixture, validated, with its filters checked. Built once per process.
struct Fixture {
    def: ModuleDef,
    rls: RlsRules,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let def = ModuleDef::from_raw(raw_module_def()).expect("the fixture module is valid");
        let rls = RlsRules::compile(&def, &empty_datastore(&def)).expect("the fixture's filter is valid");
        Fixture { def, rls }
    })
}

/// The fixture's validated module definition.
pub fn module_def() -> &'static ModuleDef {
    &fixture().def
}

/// What SQL resolves names and filters rows with.
pub fn catalog() -> Catalog<'static> {
    let fixture = fixture();
    Catalog {
        module: &fixture.def,
        rls: &fixture.rls,
    }
}

fn empty_datastore(def: &ModuleDef) -> Datastore {
    let mut ds = Datastore::new();
    for table in &def.tables {
        ds.create_table(table, &def.typespace)
            .expect("the fixture's tables are valid");
    }
    ds
}

/// A fresh datastore with the fixture's tables and a few rows in each.
pub fn datastore() -> Datastore {
    let mut ds = empty_datastore(module_def());
    let auth = owner_auth();
    for sql in SEED_ROWS {
        execute(sql, &auth, catalog(), &mut ds).expect("the fixture's rows insert");
    }
    ds
}

/// The owner running a statement.
pub fn owner_auth() -> SqlAuth {
    SqlAuth {
        caller: spacetime_sats::Identity::from_be_byte_array(OWNER),
        owner: spacetime_sats::Identity::from_be_byte_array(OWNER),
    }
}

/// A client that is not the owner running a statement.
pub fn other_auth() -> SqlAuth {
    SqlAuth {
        caller: spacetime_sats::Identity::from_be_byte_array(OTHER),
        owner: spacetime_sats::Identity::from_be_byte_array(OWNER),
    }
}
