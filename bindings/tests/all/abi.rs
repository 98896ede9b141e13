//! The built example modules import nothing but `spacetime_10.*` functions, each with
//! exactly the ABI's name and signature, and export what SpacetimeDB 2.10.1's Rust
//! modules export. Builds `examples/` for wasm32 through the shared module build helper.

#[path = "../../../tests/src/modules.rs"]
#[allow(dead_code)]
mod modules;

use modules::{build_module, Bindings, ModuleCrate, ALL_FEATURES, QUICKSTART_CHAT};
use std::collections::BTreeMap;

/// A wasm function type, as value-type names.
type Sig = (Vec<&'static str>, Vec<&'static str>);

/// The imports of a module and its exports (functions with their types; other kinds as `None`).
struct Abi {
    imports: Vec<(String, String, Sig)>,
    exports: BTreeMap<String, Option<Sig>>,
}

/// A minimal reader of the type, import, function and export sections.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        let b = *self
            .bytes
            .get(self.pos)
            .unwrap_or_else(|| panic!("truncated wasm at byte {}", self.pos));
        self.pos += 1;
        b
    }
    fn leb(&mut self) -> u32 {
        let (mut value, mut shift) = (0u32, 0);
        loop {
            let b = self.byte();
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    fn name(&mut self) -> String {
        let len = self.leb() as usize;
        let name = std::str::from_utf8(&self.bytes[self.pos..self.pos + len])
            .expect("names are UTF-8")
            .to_owned();
        self.pos += len;
        name
    }
    fn val_types(&mut self) -> Vec<&'static str> {
        (0..self.leb())
            .map(|_| match self.byte() {
                0x7f => "i32",
                0x7e => "i64",
                0x7d => "f32",
                0x7c => "f64",
                other => panic!("unexpected value type {other:#x}"),
            })
            .collect()
    }
}

fn read_abi(bytes: &[u8]) -> Abi {
    assert_eq!(&bytes[..8], b"\0asm\x01\0\0\0", "not a wasm module");
    let mut r = Reader { bytes, pos: 8 };
    let (mut types, mut funcs) = (Vec::new(), Vec::new());
    let mut abi = Abi {
        imports: Vec::new(),
        exports: BTreeMap::new(),
    };
    while r.pos < bytes.len() {
        let id = r.byte();
        let size = r.leb() as usize;
        let end = r.pos + size;
        match id {
            1 => {
                for _ in 0..r.leb() {
                    assert_eq!(r.byte(), 0x60, "only function types are expected");
                    let params = r.val_types();
                    types.push((params, r.val_types()));
                }
            }
            2 => {
                for _ in 0..r.leb() {
                    let (module, name) = (r.name(), r.name());
                    let kind = r.byte();
                    assert_eq!(kind, 0, "import {module}.{name} is not a function (kind {kind})");
                    let ty: Sig = types[r.leb() as usize].clone();
                    funcs.push(ty.clone());
                    abi.imports.push((module, name, ty));
                }
            }
            3 => {
                for _ in 0..r.leb() {
                    let ty = r.leb() as usize;
                    funcs.push(types[ty].clone());
                }
            }
            7 => {
                for _ in 0..r.leb() {
                    let name = r.name();
                    let kind = r.byte();
                    let index = r.leb() as usize;
                    abi.exports.insert(name, (kind == 0).then(|| funcs[index].clone()));
                }
            }
            _ => {}
        }
        r.pos = end;
    }
    abi
}

/// Every `spacetime_10.x` function a module may import, with its wasm signature.
fn known_imports() -> BTreeMap<(&'static str, &'static str), Sig> {
    let sig = |params: &[&'static str], results: &[&'static str]| (params.to_vec(), results.to_vec());
    let i32x = |n: usize| vec!["i32"; n];
    let mut m = BTreeMap::new();
    for (name, n) in [
        ("table_id_from_name", 3),
        ("index_id_from_name", 3),
        ("datastore_table_row_count", 2),
        ("datastore_table_scan_bsatn", 2),
        ("datastore_index_scan_range_bsatn", 9),
        ("datastore_delete_by_index_scan_range_bsatn", 9),
        ("datastore_btree_scan_bsatn", 9),
        ("datastore_delete_by_btree_scan_bsatn", 9),
        ("datastore_delete_all_by_eq_bsatn", 4),
        ("row_iter_bsatn_advance", 3),
        ("row_iter_bsatn_close", 1),
        ("datastore_insert_bsatn", 3),
        ("datastore_update_bsatn", 4),
        ("bytes_sink_write", 3),
        ("bytes_source_read", 3),
        ("console_timer_start", 2),
        ("console_timer_end", 1),
    ] {
        m.insert(("spacetime_10.0", name), sig(&i32x(n), &["i32"]));
    }
    m.insert(("spacetime_10.0", "console_log"), sig(&i32x(8), &[]));
    m.insert(("spacetime_10.0", "identity"), sig(&["i32"], &[]));
    m.insert(
        ("spacetime_10.0", "volatile_nonatomic_schedule_immediate"),
        sig(&i32x(4), &[]),
    );
    m.insert(
        ("spacetime_10.1", "bytes_source_remaining_length"),
        sig(&i32x(2), &["i32"]),
    );
    m.insert(("spacetime_10.2", "get_jwt"), sig(&i32x(2), &["i32"]));
    m.insert(
        ("spacetime_10.4", "datastore_index_scan_point_bsatn"),
        sig(&i32x(4), &["i32"]),
    );
    m.insert(
        ("spacetime_10.4", "datastore_delete_by_index_scan_point_bsatn"),
        sig(&i32x(4), &["i32"]),
    );
    m.insert(("spacetime_10.5", "datastore_clear"), sig(&i32x(2), &["i32"]));
    m
}

fn check_module(module: ModuleCrate, describers: &[&str]) {
    let wasm = build_module(module, Bindings::Ours);
    let abi = read_abi(&std::fs::read(&wasm).expect("read the built module"));
    let known = known_imports();
    assert!(!abi.imports.is_empty(), "{} imports nothing", module.package);
    for (m, name, sig) in &abi.imports {
        match known.get(&(m.as_str(), name.as_str())) {
            Some(expected) => assert_eq!(
                sig, expected,
                "{m}.{name} has the wrong signature in {}",
                module.package
            ),
            None => panic!(
                "{} imports {m}.{name}, which is not a spacetime_10.x ABI function",
                module.package
            ),
        }
    }

    let i64x = |n: usize| vec!["i64"; n];
    let call = [vec!["i32"], i64x(7), vec!["i32", "i32"]].concat();
    let view = [vec!["i32"], i64x(4), vec!["i32", "i32"]].concat();
    let expected: [(&str, Sig); 7] = [
        ("__describe_module__", (vec!["i32"], vec![])),
        ("__call_reducer__", (call.clone(), vec!["i32"])),
        ("__call_procedure__", (call, vec!["i32"])),
        ("__call_view__", (view, vec!["i32"])),
        ("__call_view_anon__", (vec!["i32"; 3], vec!["i32"])),
        ("__preinit__00_panic_hook", (vec![], vec![])),
        ("__preinit__15_init_log", (vec![], vec![])),
    ];
    for (name, sig) in expected {
        assert_eq!(
            abi.exports.get(name),
            Some(&Some(sig)),
            "export {name} of {}",
            module.package
        );
    }
    assert_eq!(
        abi.exports.get("memory"),
        Some(&None),
        "{} must export its memory",
        module.package
    );
    let found: Vec<&str> = abi
        .exports
        .keys()
        .filter_map(|k| k.strip_prefix("__preinit__20_register_describer_"))
        .collect();
    assert_eq!(found, describers, "describer exports of {}", module.package);
}

#[test]
fn quickstart_chat_imports_only_the_abi() {
    check_module(
        QUICKSTART_CHAT,
        &[
            "identity_connected",
            "identity_disconnected",
            "init",
            "message",
            "send_message",
            "set_name",
            "user",
        ],
    );
}

#[test]
fn all_features_imports_only_the_abi() {
    check_module(
        ALL_FEATURES,
        &[
            "add_player",
            "audit_log",
            "clear_all",
            "count_players",
            "delete_player",
            "delete_player_row",
            "delete_players_below",
            "delete_players_by_color",
            "every_type",
            "fail",
            "init",
            "insert_every_type",
            "insert_every_type_row",
            "level_up",
            "on_connect",
            "on_disconnect",
            "on_tick",
            "player",
            "reminder",
            "roll",
            "schedule_reminder",
            "send_reminder",
            "tick",
            "tick_count",
        ],
    );
}
