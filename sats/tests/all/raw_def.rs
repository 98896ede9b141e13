//! The raw module definition's BSATN against bytes produced by upstream
//! `spacetimedb-lib` 2.10.1 for the same definitions, plus the decoding edge cases
//! (V8, unknown sections).

use spacetime_sats::bsatn::{from_slice, to_vec, DecodeError};
use spacetime_sats::def::raw::*;
use spacetime_sats::def::raw_v9::*;
use spacetime_sats::{AlgebraicType, AlgebraicTypeRef, ProductType, Typespace};

/// `RawModuleDef::V10` with every section (tags 0 to 14), encoded by upstream 2.10.1.
const UPSTREAM_V10_HEX: &str = "020f0000000001000000020100000000010000006107010100000001000000010000004101000000500000000001020100000006000000706572736f6e00000000010000000000020000000013000000706572736f6e5f69645f6964785f627472656500020000006964000200000000000100010102020001000000010001000000000001000000000100000073000000050000000000000000000000000000000100fdffffffffffffffffffffffffffffff010000000000000000000000000000000101010000000100030000000102030103010000000400000073656e6401000000000400000074657874040102000000000404010000000400000070726f63000000000b00050100000001000000760700000001000000000001020000000004000000736f6d65000000000000040000006e6f6e65020000000006010000000106000000706572736f6e01000400000073656e640701000000010400000073656e6408010000001400000053454c454354202a2046524f4d20706572736f6e09010a030000000006000000706572736f6e06000000506572736f6e010400000073656e640c00000073656e645f6d6573736167650213000000706572736f6e5f69645f6964785f6274726565030000007069640b0100000001000000680c03000000010000006800020000002f6101000000680108020000002f62010000006801090100000058000000000d0100000001000000760100000001000000610e0100000003000000737562010000000900";

/// `RawModuleDef::V9` with a schedule, lifecycle and every misc export, encoded by upstream 2.10.1.
const UPSTREAM_V9_HEX: &str = "010100000002010000000001000000610701000000010000007400000000010000000000010000000100010000006101010000000000010000000001000000630001000000000001000000010000010001000000000000000000000000000000010200000000000000000000000000000000010100000072000000000100000001000000720000000000000100000000000000010000005000000000000300000000010000007400000100000009010100000070000000000502010000007601000000000100000000030700000000";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex is valid"))
        .collect()
}

fn s(x: &str) -> String {
    x.to_owned()
}

fn typespace() -> Typespace {
    Typespace::new(vec![AlgebraicType::product([("a", AlgebraicType::U8)])])
}

fn full_v10() -> RawModuleDefV10 {
    let table = RawTableDefV10 {
        source_name: s("person"),
        product_type_ref: AlgebraicTypeRef(0),
        primary_key: vec![0],
        indexes: vec![
            RawIndexDefV10 {
                source_name: Some(s("person_id_idx_btree")),
                accessor_name: Some(s("id")),
                algorithm: RawIndexAlgorithm::BTree(RawIndexColumns { columns: vec![0, 1] }),
            },
            RawIndexDefV10 {
                source_name: None,
                accessor_name: None,
                algorithm: RawIndexAlgorithm::Direct(RawDirectIndexColumn { column: 2 }),
            },
        ],
        constraints: vec![RawConstraintDefV10 {
            source_name: None,
            data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 { columns: vec![0] }),
        }],
        sequences: vec![RawSequenceDefV10 {
            source_name: Some(s("s")),
            column: 0,
            start: Some(5),
            min_value: None,
            max_value: Some(-3),
            increment: 1,
        }],
        table_type: TableType::User,
        table_access: TableAccess::Private,
        default_values: vec![RawColumnDefaultValueV10 {
            col_id: 1,
            value: vec![1, 2, 3],
        }],
        is_event: true,
    };
    let mapping = |source: &str, canonical: &str| NameMapping {
        source_name: s(source),
        canonical_name: s(canonical),
    };
    let route = |method, path: &str| RawHttpRouteDefV10 {
        handler_function: s("h"),
        method,
        path: s(path),
    };
    RawModuleDefV10 {
        sections: vec![
            RawModuleDefV10Section::Typespace(typespace()),
            RawModuleDefV10Section::Types(vec![RawTypeDefV10 {
                source_name: RawScopedTypeNameV10 {
                    scope: vec![s("A")],
                    source_name: s("P"),
                },
                ty: AlgebraicTypeRef(0),
                custom_ordering: true,
            }]),
            RawModuleDefV10Section::Tables(vec![table]),
            RawModuleDefV10Section::Reducers(vec![RawReducerDefV10 {
                source_name: s("send"),
                params: ProductType::named([("text", AlgebraicType::String)]),
                visibility: FunctionVisibility::ClientCallable,
                ok_return_type: AlgebraicType::unit(),
                err_return_type: AlgebraicType::String,
            }]),
            RawModuleDefV10Section::Procedures(vec![RawProcedureDefV10 {
                source_name: s("proc"),
                params: ProductType::unit(),
                return_type: AlgebraicType::U32,
                visibility: FunctionVisibility::Private,
            }]),
            RawModuleDefV10Section::Views(vec![RawViewDefV10 {
                source_name: s("v"),
                index: 7,
                is_public: true,
                is_anonymous: false,
                params: ProductType::unit(),
                return_type: AlgebraicType::option(AlgebraicType::Ref(AlgebraicTypeRef(0))),
            }]),
            RawModuleDefV10Section::Schedules(vec![RawScheduleDefV10 {
                source_name: None,
                table_name: s("person"),
                schedule_at_col: 1,
                function_name: s("send"),
            }]),
            RawModuleDefV10Section::LifeCycleReducers(vec![RawLifeCycleReducerDefV10 {
                lifecycle_spec: Lifecycle::OnConnect,
                function_name: s("send"),
            }]),
            RawModuleDefV10Section::RowLevelSecurity(vec![RawRowLevelSecurityDefV9 {
                sql: s("SELECT * FROM person"),
            }]),
            RawModuleDefV10Section::CaseConversionPolicy(CaseConversionPolicy::SnakeCase),
            RawModuleDefV10Section::ExplicitNames(ExplicitNames {
                entries: vec![
                    ExplicitNameEntry::Table(mapping("person", "Person")),
                    ExplicitNameEntry::Function(mapping("send", "send_message")),
                    ExplicitNameEntry::Index(mapping("person_id_idx_btree", "pid")),
                ],
            }),
            RawModuleDefV10Section::HttpHandlers(vec![RawHttpHandlerDefV10 { source_name: s("h") }]),
            RawModuleDefV10Section::HttpRoutes(vec![
                route(MethodOrAny::Any, "/a"),
                route(MethodOrAny::Method(HttpMethod::Patch), "/b"),
                route(MethodOrAny::Method(HttpMethod::Extension(s("X"))), ""),
            ]),
            RawModuleDefV10Section::ViewPrimaryKeys(vec![RawViewPrimaryKeyDefV10 {
                view_source_name: s("v"),
                columns: vec![s("a")],
            }]),
            RawModuleDefV10Section::Submodules(vec![RawSubmoduleV10 {
                namespace: s("sub"),
                module: RawModuleDefV10 {
                    sections: vec![RawModuleDefV10Section::CaseConversionPolicy(CaseConversionPolicy::None)],
                },
            }]),
        ],
    }
}

fn full_v9() -> RawModuleDefV9 {
    RawModuleDefV9 {
        typespace: typespace(),
        tables: vec![RawTableDefV9 {
            name: s("t"),
            product_type_ref: AlgebraicTypeRef(0),
            primary_key: vec![0],
            indexes: vec![RawIndexDefV9 {
                name: None,
                accessor_name: Some(s("a")),
                algorithm: RawIndexAlgorithm::Hash(RawIndexColumns { columns: vec![0] }),
            }],
            constraints: vec![RawConstraintDefV9 {
                name: Some(s("c")),
                data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 { columns: vec![0] }),
            }],
            sequences: vec![RawSequenceDefV9 {
                name: None,
                column: 0,
                start: None,
                min_value: Some(1),
                max_value: None,
                increment: 2,
            }],
            schedule: Some(RawScheduleDefV9 {
                name: None,
                reducer_name: s("r"),
                scheduled_at_column: 0,
            }),
            table_type: TableType::System,
            table_access: TableAccess::Public,
        }],
        reducers: vec![RawReducerDefV9 {
            name: s("r"),
            params: ProductType::unit(),
            lifecycle: Some(Lifecycle::Init),
        }],
        types: vec![RawTypeDefV9 {
            name: RawScopedTypeNameV9 {
                scope: vec![],
                name: s("P"),
            },
            ty: AlgebraicTypeRef(0),
            custom_ordering: false,
        }],
        misc_exports: vec![
            RawMiscModuleExportV9::ColumnDefaultValue(RawColumnDefaultValueV9 {
                table: s("t"),
                col_id: 0,
                value: vec![9],
            }),
            RawMiscModuleExportV9::Procedure(RawProcedureDefV9 {
                name: s("p"),
                params: ProductType::unit(),
                return_type: AlgebraicType::Bool,
            }),
            RawMiscModuleExportV9::View(RawViewDefV9 {
                name: s("v"),
                index: 1,
                is_public: false,
                is_anonymous: true,
                params: ProductType::unit(),
                return_type: AlgebraicType::bytes(),
            }),
        ],
        row_level_security: vec![],
    }
}

#[test]
fn v10_is_byte_identical_to_upstream() {
    let def = RawModuleDef::V10(full_v10());
    assert_eq!(to_vec(&def), unhex(UPSTREAM_V10_HEX));
    assert_eq!(from_slice::<RawModuleDef>(&unhex(UPSTREAM_V10_HEX)), Ok(def));
}

#[test]
fn v9_is_byte_identical_to_upstream() {
    let def = RawModuleDef::V9(full_v9());
    assert_eq!(to_vec(&def), unhex(UPSTREAM_V9_HEX));
    assert_eq!(from_slice::<RawModuleDef>(&unhex(UPSTREAM_V9_HEX)), Ok(def));
}

#[test]
fn every_section_round_trips_alone() {
    for section in full_v10().sections {
        let def = RawModuleDef::V10(RawModuleDefV10 {
            sections: vec![section],
        });
        assert_eq!(from_slice::<RawModuleDef>(&to_vec(&def)), Ok(def));
    }
}

#[test]
fn section_getters_find_their_section() {
    let def = full_v10();
    assert_eq!(def.tables().map(Vec::len), Some(1));
    assert_eq!(def.http_routes().map(Vec::len), Some(3));
    assert_eq!(def.submodules().map(|s| s[0].namespace.as_str()), Some("sub"));
    assert_eq!(def.case_conversion_policy(), CaseConversionPolicy::SnakeCase);
    assert_eq!(
        RawModuleDefV10 { sections: vec![] }.case_conversion_policy(),
        CaseConversionPolicy::SnakeCase
    );
}

#[test]
fn v8_is_rejected_naming_the_fix() {
    for bytes in [&[0u8][..], &[0, 0, 0, 0, 0, 1, 2, 3]] {
        let err = from_slice::<RawModuleDef>(bytes).expect_err("V8 must not decode");
        assert_eq!(err, DecodeError::Invalid(V8_UNSUPPORTED.to_owned()));
        let msg = err.to_string();
        assert!(
            msg.contains("V8") && msg.contains("rebuild") && msg.contains("2.x"),
            "{msg}"
        );
    }
}

#[test]
fn unknown_section_tag_names_the_section_and_the_fix() {
    // V10 with one section whose tag (17) postdates this server (2.14's last is 16,
    // `Outboxes`).
    let bytes = [2, 1, 0, 0, 0, 17];
    let msg = from_slice::<RawModuleDef>(&bytes)
        .expect_err("tag 17 is unknown")
        .to_string();
    assert!(msg.contains("RawModuleDefV10Section tag 17"), "{msg}");
    assert!(msg.contains("0 to 16") && msg.contains("newer SpacetimeDB"), "{msg}");
}

#[test]
fn unknown_module_def_version_is_an_error() {
    assert!(matches!(
        from_slice::<RawModuleDef>(&[3]),
        Err(DecodeError::InvalidTag { tag: 3, .. })
    ));
}

#[test]
fn truncated_definitions_are_errors_at_every_length() {
    let bytes = unhex(UPSTREAM_V10_HEX);
    for len in 0..bytes.len() {
        assert!(
            from_slice::<RawModuleDef>(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}
