//! The table API and the exports against an in-memory host installed through
//! `spacetimedb::sys::native`, which interprets the host calls the way the server does for
//! one table.

use spacetimedb::sats::bsatn::{from_slice, Decode, Encode};
use spacetimedb::sats::def::raw::{RawModuleDef, RawModuleDefV10Section};
use spacetimedb::sys::native::{set_host, Host};
use spacetimedb::sys::raw::{BytesSink, BytesSource, RowIter};
use spacetimedb::sys::Errno;
use spacetimedb::{reducer, table, ReducerContext, Table, TryInsertError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Bound;
use std::rc::Rc;

/// The BSATN bytes of `value`, through the `Result`-returning `to_vec` modules see.
fn to_vec<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    match spacetimedb::sats::bsatn::to_vec(value) {
        Ok(bytes) => bytes,
        Err(never) => match never {},
    }
}

#[table(accessor = account, public, index(accessor = by_level_and_name, btree(columns = [level, name])))]
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    #[primary_key]
    #[auto_inc]
    id: u32,
    #[unique]
    name: String,
    #[index(btree)]
    level: u32,
    #[index(hash)]
    region: u8,
}

#[reducer]
fn add_account(ctx: &ReducerContext, name: String, level: u32) -> Result<(), String> {
    ctx.db.account().try_insert(Account {
        id: 0,
        name,
        level,
        region: 0,
    })?;
    Ok(())
}

const TABLE: u32 = 1;
const BY_ID: u32 = 10;
const BY_NAME: u32 = 11;
const BY_LEVEL: u32 = 12;
const BY_REGION: u32 = 13;
const BY_LEVEL_AND_NAME: u32 = 14;

#[derive(Default)]
struct State {
    rows: Vec<Account>,
    next_id: u32,
    iters: HashMap<u32, Vec<u8>>,
    next_iter: u32,
    sinks: HashMap<u32, Vec<u8>>,
    sources: HashMap<u32, Vec<u8>>,
    logs: Vec<(u8, Option<String>, Option<String>, String)>,
}

#[derive(Clone, Default)]
struct MemHost(Rc<RefCell<State>>);

fn in_bounds<T: Ord>(v: &T, start: &Bound<T>, end: &Bound<T>) -> bool {
    let above = match start {
        Bound::Included(s) => v >= s,
        Bound::Excluded(s) => v > s,
        Bound::Unbounded => true,
    };
    let below = match end {
        Bound::Included(e) => v <= e,
        Bound::Excluded(e) => v < e,
        Bound::Unbounded => true,
    };
    above && below
}

fn bound<T: Decode>(mut bytes: &[u8]) -> Result<Bound<T>, u16> {
    let bad = Errno::BSATN_DECODE_ERROR.code();
    let tag = u8::decode(&mut bytes).map_err(|_| bad)?;
    let bound = match tag {
        0 => Bound::Included(T::decode(&mut bytes).map_err(|_| bad)?),
        1 => Bound::Excluded(T::decode(&mut bytes).map_err(|_| bad)?),
        2 => Bound::Unbounded,
        _ => return Err(bad),
    };
    if bytes.is_empty() {
        Ok(bound)
    } else {
        Err(bad)
    }
}

impl MemHost {
    fn matching_point(&self, index_id: u32, point: &[u8]) -> Result<Vec<usize>, u16> {
        let bad = Errno::BSATN_DECODE_ERROR.code();
        let state = self.0.borrow();
        let keep: Box<dyn Fn(&Account) -> bool> = match index_id {
            BY_ID => {
                let id: u32 = from_slice(point).map_err(|_| bad)?;
                Box::new(move |a| a.id == id)
            }
            BY_NAME => {
                let name: String = from_slice(point).map_err(|_| bad)?;
                Box::new(move |a| a.name == name)
            }
            BY_LEVEL => {
                let level: u32 = from_slice(point).map_err(|_| bad)?;
                Box::new(move |a| a.level == level)
            }
            BY_REGION => {
                let region: u8 = from_slice(point).map_err(|_| bad)?;
                Box::new(move |a| a.region == region)
            }
            BY_LEVEL_AND_NAME => {
                let (level, name): (u32, String) = from_slice(point).map_err(|_| bad)?;
                Box::new(move |a| a.level == level && a.name == name)
            }
            _ => return Err(Errno::NO_SUCH_INDEX.code()),
        };
        Ok(state
            .rows
            .iter()
            .enumerate()
            .filter(|(_, a)| keep(a))
            .map(|(i, _)| i)
            .collect())
    }

    fn matching_range(
        &self,
        index_id: u32,
        prefix: &[u8],
        elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<Vec<usize>, u16> {
        let bad = Errno::BSATN_DECODE_ERROR.code();
        let state = self.0.borrow();
        let keep: Box<dyn Fn(&Account) -> bool> = match (index_id, elems) {
            (BY_LEVEL, 0) | (BY_LEVEL_AND_NAME, 0) if prefix.is_empty() => {
                let (start, end) = (bound::<u32>(rstart)?, bound::<u32>(rend)?);
                Box::new(move |a| in_bounds(&a.level, &start, &end))
            }
            (BY_LEVEL_AND_NAME, 1) => {
                let level: u32 = from_slice(prefix).map_err(|_| bad)?;
                let (start, end) = (bound::<String>(rstart)?, bound::<String>(rend)?);
                Box::new(move |a| a.level == level && in_bounds(&a.name, &start, &end))
            }
            (BY_REGION, _) => return Err(Errno::WRONG_INDEX_ALGO.code()),
            _ => return Err(bad),
        };
        Ok(state
            .rows
            .iter()
            .enumerate()
            .filter(|(_, a)| keep(a))
            .map(|(i, _)| i)
            .collect())
    }

    fn open_iter(&self, rows: Vec<usize>) -> RowIter {
        let mut state = self.0.borrow_mut();
        let mut bytes = Vec::new();
        for i in rows {
            state.rows[i].encode(&mut bytes);
        }
        state.next_iter += 1;
        let id = state.next_iter;
        state.iters.insert(id, bytes);
        RowIter(id)
    }

    fn remove(&self, mut rows: Vec<usize>) -> u32 {
        rows.sort_unstable();
        let mut state = self.0.borrow_mut();
        for &i in rows.iter().rev() {
            state.rows.remove(i);
        }
        rows.len() as u32
    }

    fn logs(&self) -> Vec<(u8, Option<String>, Option<String>, String)> {
        self.0.borrow().logs.clone()
    }
}

impl Host for MemHost {
    fn table_id_from_name(&mut self, name: &str) -> Result<u32, u16> {
        if name == "account" {
            Ok(TABLE)
        } else {
            Err(Errno::NO_SUCH_TABLE.code())
        }
    }
    fn index_id_from_name(&mut self, name: &str) -> Result<u32, u16> {
        match name {
            "account_id_idx_btree" => Ok(BY_ID),
            "account_name_idx_btree" => Ok(BY_NAME),
            "account_level_idx_btree" => Ok(BY_LEVEL),
            "account_region_idx_hash" => Ok(BY_REGION),
            "account_level_name_idx_btree" => Ok(BY_LEVEL_AND_NAME),
            _ => Err(Errno::NO_SUCH_INDEX.code()),
        }
    }
    fn datastore_table_row_count(&mut self, _: u32) -> Result<u64, u16> {
        Ok(self.0.borrow().rows.len() as u64)
    }
    fn datastore_table_scan_bsatn(&mut self, _: u32) -> Result<RowIter, u16> {
        let all = (0..self.0.borrow().rows.len()).collect();
        Ok(self.open_iter(all))
    }
    fn datastore_index_scan_point_bsatn(&mut self, index_id: u32, point: &[u8]) -> Result<RowIter, u16> {
        let rows = self.matching_point(index_id, point)?;
        Ok(self.open_iter(rows))
    }
    fn datastore_delete_by_index_scan_point_bsatn(&mut self, index_id: u32, point: &[u8]) -> Result<u32, u16> {
        let rows = self.matching_point(index_id, point)?;
        Ok(self.remove(rows))
    }
    fn datastore_index_scan_range_bsatn(
        &mut self,
        index_id: u32,
        prefix: &[u8],
        elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<RowIter, u16> {
        let rows = self.matching_range(index_id, prefix, elems, rstart, rend)?;
        Ok(self.open_iter(rows))
    }
    fn datastore_delete_by_index_scan_range_bsatn(
        &mut self,
        index_id: u32,
        prefix: &[u8],
        elems: u16,
        rstart: &[u8],
        rend: &[u8],
    ) -> Result<u32, u16> {
        let rows = self.matching_range(index_id, prefix, elems, rstart, rend)?;
        Ok(self.remove(rows))
    }
    fn datastore_delete_all_by_eq_bsatn(&mut self, _: u32, relation: &[u8]) -> Result<u32, u16> {
        let doomed: Vec<Account> = from_slice(relation).map_err(|_| Errno::BSATN_DECODE_ERROR.code())?;
        let rows = self
            .0
            .borrow()
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| doomed.contains(r))
            .map(|(i, _)| i)
            .collect();
        Ok(self.remove(rows))
    }
    fn row_iter_next_chunk(&mut self, iter: RowIter) -> Result<Option<Vec<u8>>, u16> {
        let mut state = self.0.borrow_mut();
        match state.iters.remove(&iter.0) {
            Some(bytes) if bytes.is_empty() => Ok(None),
            Some(bytes) => {
                state.iters.insert(iter.0, Vec::new());
                Ok(Some(bytes))
            }
            None => Err(Errno::NO_SUCH_ITER.code()),
        }
    }
    fn row_iter_bsatn_close(&mut self, iter: RowIter) -> Result<(), u16> {
        self.0
            .borrow_mut()
            .iters
            .remove(&iter.0)
            .map(drop)
            .ok_or(Errno::NO_SUCH_ITER.code())
    }
    fn datastore_insert_bsatn(&mut self, _: u32, row: &[u8]) -> Result<Vec<u8>, u16> {
        let mut row: Account = from_slice(row).map_err(|_| Errno::BSATN_DECODE_ERROR.code())?;
        let mut state = self.0.borrow_mut();
        if state.rows.contains(&row) {
            return Ok(Vec::new());
        }
        let mut generated = Vec::new();
        if row.id == 0 {
            state.next_id += 1;
            row.id = state.next_id;
            generated = to_vec(&row.id);
        }
        if state.rows.iter().any(|r| r.id == row.id || r.name == row.name) {
            return Err(Errno::UNIQUE_ALREADY_EXISTS.code());
        }
        state.rows.push(row);
        Ok(generated)
    }
    fn datastore_update_bsatn(&mut self, _: u32, index_id: u32, row: &[u8]) -> Result<Vec<u8>, u16> {
        if index_id != BY_ID {
            return Err(Errno::INDEX_NOT_UNIQUE.code());
        }
        let row: Account = from_slice(row).map_err(|_| Errno::BSATN_DECODE_ERROR.code())?;
        let mut state = self.0.borrow_mut();
        let slot = state
            .rows
            .iter_mut()
            .find(|r| r.id == row.id)
            .ok_or(Errno::NO_SUCH_ROW.code())?;
        *slot = row;
        Ok(Vec::new())
    }
    fn datastore_clear(&mut self, _: u32) -> Result<u64, u16> {
        let mut state = self.0.borrow_mut();
        let n = state.rows.len() as u64;
        state.rows.clear();
        Ok(n)
    }
    fn bytes_sink_write(&mut self, sink: BytesSink, bytes: &[u8]) -> Result<(), u16> {
        self.0
            .borrow_mut()
            .sinks
            .entry(sink.0)
            .or_default()
            .extend_from_slice(bytes);
        Ok(())
    }
    fn bytes_source_take(&mut self, source: BytesSource) -> Result<Vec<u8>, u16> {
        self.0
            .borrow_mut()
            .sources
            .remove(&source.0)
            .ok_or(Errno::NO_SUCH_BYTES.code())
    }
    /// One environment value, `GREETING=hi`, served as source 900; other keys are absent.
    fn env_get(&mut self, key: &str) -> Result<BytesSource, u16> {
        if key != "GREETING" {
            return Ok(BytesSource::INVALID);
        }
        self.0.borrow_mut().sources.insert(900, b"hi".to_vec());
        Ok(BytesSource(900))
    }
    fn console_log(&mut self, level: u8, target: Option<&str>, file: Option<&str>, _line: u32, message: &str) {
        self.0.borrow_mut().logs.push((
            level,
            target.map(str::to_owned),
            file.map(str::to_owned),
            message.to_owned(),
        ));
    }
}

fn install() -> MemHost {
    let host = MemHost::default();
    set_host(Some(Box::new(host.clone())));
    host
}

fn account(name: &str, level: u32, region: u8) -> Account {
    Account {
        id: 0,
        name: name.to_owned(),
        level,
        region,
    }
}

#[test]
fn insert_fills_auto_inc_and_reports_unique_violations() {
    let _host = install();
    let ctx = ReducerContext::__dummy();
    let table = ctx.db.account();
    let ada = table.insert(account("ada", 3, 1));
    assert_eq!(ada.id, 1);
    assert_eq!(table.insert(account("bob", 5, 2)).id, 2);
    // Identical rows are a no-op, not a violation.
    assert_eq!(table.try_insert(ada.clone()).map(|r| r.id).ok(), Some(1));
    let err = table.try_insert(account("ada", 9, 9)).unwrap_err();
    assert!(matches!(err, TryInsertError::UniqueConstraintViolation(_)));
    assert_eq!(
        err.to_string(),
        "insertion error on table `account`:duplicate unique column"
    );
    assert_eq!(table.count(), 2);
    assert_eq!(table.iter().map(|a| a.name).collect::<Vec<_>>(), ["ada", "bob"]);
}

#[test]
fn unique_columns_find_update_and_delete() {
    let _host = install();
    let ctx = ReducerContext::__dummy();
    let table = ctx.db.account();
    table.insert(account("ada", 3, 1));
    let found = table.name().find("ada".to_string()).expect("ada exists");
    assert_eq!(table.id().find(found.id), Some(found.clone()));
    let updated = table.id().update(Account { level: 4, ..found });
    assert_eq!(table.name().find("ada".to_string()).map(|a| a.level), Some(4));
    assert!(table.name().delete(&updated.name));
    assert!(!table.id().delete(updated.id));
    assert_eq!(table.count(), 0);
}

#[test]
fn ranged_and_hash_indexes_filter_and_delete() {
    let _host = install();
    let ctx = ReducerContext::__dummy();
    let table = ctx.db.account();
    for (name, level, region) in [("a", 1, 1), ("b", 2, 1), ("c", 2, 2), ("d", 3, 2), ("e", 5, 3)] {
        table.insert(account(name, level, region));
    }
    let names = |it: &mut dyn Iterator<Item = Account>| it.map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(names(&mut table.level().filter(2u32)), ["b", "c"]);
    assert_eq!(names(&mut table.level().filter(2u32..5)), ["b", "c", "d"]);
    assert_eq!(names(&mut table.level().filter(..=2u32)), ["a", "b", "c"]);
    assert_eq!(
        names(&mut table.level().filter((Bound::Excluded(2u32), Bound::Unbounded))),
        ["d", "e"]
    );
    assert_eq!(names(&mut table.by_level_and_name().filter(2u32)), ["b", "c"]);
    assert_eq!(names(&mut table.by_level_and_name().filter((2u32, "c"..))), ["c"]);
    assert_eq!(names(&mut table.by_level_and_name().filter((2u32, "b"))), ["b"]);
    assert_eq!(names(&mut table.region().filter(2u8)), ["c", "d"]);
    assert_eq!(table.region().delete(1u8), 2);
    assert_eq!(table.level().delete(3u32..), 2);
    assert_eq!(names(&mut table.iter()), ["c"]);
    assert!(table.delete(table.name().find("c".to_string()).expect("c exists")));
    table.insert(account("z", 1, 1));
    assert_eq!(table.clear(), 1);
}

#[test]
fn exports_describe_the_module_and_dispatch_reducers() {
    let host = install();
    spacetimedb::rt::register_table::<account__TableHandle>();
    spacetimedb::rt::register_reducer::<add_account>();
    spacetimedb::rt::__describe_module__(BytesSink(1));
    let def: RawModuleDef =
        from_slice(&host.0.borrow_mut().sinks.remove(&1).expect("definition written")).expect("decodes");
    let RawModuleDef::V10(def) = def else {
        panic!("expected a V10 definition")
    };
    let reducers = def.sections.iter().find_map(|s| match s {
        RawModuleDefV10Section::Reducers(r) => Some(r),
        _ => None,
    });
    let id = reducers
        .and_then(|r| r.iter().position(|r| r.source_name == "add_account"))
        .expect("add_account described");

    let mut args = to_vec(&"ada".to_string());
    args.extend(to_vec(&7u32));
    host.0.borrow_mut().sources.insert(5, args.clone());
    let sender = [1u64, 2, 3, 4];
    let ret = spacetimedb::rt::__call_reducer__(
        id,
        sender[0],
        sender[1],
        sender[2],
        sender[3],
        0,
        0,
        1_000,
        BytesSource(5),
        BytesSink(2),
    );
    assert_eq!(ret, 0);
    assert_eq!(
        host.0
            .borrow()
            .rows
            .iter()
            .map(|a| (a.name.as_str(), a.level))
            .collect::<Vec<_>>(),
        [("ada", 7)]
    );

    host.0.borrow_mut().sources.insert(6, args);
    let ret = spacetimedb::rt::__call_reducer__(id, 0, 0, 0, 0, 0, 0, 1_000, BytesSource(6), BytesSink(3));
    assert_eq!(ret, 1);
    let message = String::from_utf8(host.0.borrow_mut().sinks.remove(&3).expect("error written")).expect("utf-8");
    assert_eq!(message, "insertion error on table `account`:duplicate unique column");

    let ret = spacetimedb::rt::__call_reducer__(id, 0, 0, 0, 0, 0, 0, 1_000, BytesSource::INVALID, BytesSink(4));
    assert_eq!(ret, 1);
    let message = String::from_utf8(host.0.borrow_mut().sinks.remove(&4).expect("error written")).expect("utf-8");
    assert!(
        message.starts_with("invalid arguments for reducer `add_account`"),
        "{message}"
    );
}

/// Accounts at `min_level` or above, greeted from the environment.
#[spacetimedb::view(accessor = accounts_from, public)]
fn accounts_from(ctx: &spacetimedb::AnonymousViewContext, min_level: u32) -> Vec<Account> {
    assert_eq!(ctx.env.get("GREETING").as_deref(), Some("hi"));
    assert_eq!(ctx.env.get("ABSENT"), None);
    ctx.db.account().level().filter(min_level..).collect()
}

/// The caller, as a one-row view.
#[spacetimedb::view(accessor = caller, public)]
fn caller(ctx: &spacetimedb::ViewContext) -> Option<Account> {
    Some(Account {
        id: 0,
        name: ctx.sender().to_hex().to_string(),
        level: 0,
        region: 0,
    })
}

/// The id of view `name` among those of its kind, from a written definition.
fn view_index(def: &RawModuleDef, name: &str) -> usize {
    let RawModuleDef::V10(def) = def else {
        panic!("expected a V10 definition")
    };
    let views = def.sections.iter().find_map(|s| match s {
        RawModuleDefV10Section::Views(v) => Some(v),
        _ => None,
    });
    let view = views
        .and_then(|v| v.iter().find(|v| v.source_name == name))
        .unwrap_or_else(|| panic!("view `{name}` described"));
    view.index as usize
}

/// A view result: the `RowData` header (tag 0), then the rows as a BSATN array.
fn view_rows(bytes: &[u8]) -> Vec<Account> {
    let (header, mut rows) = bytes.split_first().expect("a header");
    assert_eq!(*header, 0, "RowData header");
    let decoded = Vec::<Account>::decode(&mut rows).expect("rows decode");
    assert!(rows.is_empty(), "nothing after the rows");
    decoded
}

#[test]
fn view_exports_run_views_and_return_their_rows() {
    let host = install();
    host.0.borrow_mut().rows = vec![
        Account {
            id: 1,
            ..account("low", 2, 0)
        },
        Account {
            id: 2,
            ..account("high", 9, 0)
        },
    ];
    spacetimedb::rt::register_view::<accounts_from>();
    spacetimedb::rt::register_view::<caller>();
    spacetimedb::rt::__describe_module__(BytesSink(1));
    let def: RawModuleDef =
        from_slice(&host.0.borrow_mut().sinks.remove(&1).expect("definition written")).expect("decodes");

    host.0.borrow_mut().sources.insert(5, to_vec(&5u32));
    let ret = spacetimedb::rt::__call_view_anon__(view_index(&def, "accounts_from"), BytesSource(5), BytesSink(2));
    assert_eq!(ret, 2, "the header-carrying result revision");
    let rows = view_rows(&host.0.borrow_mut().sinks.remove(&2).expect("rows written"));
    assert_eq!(rows.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["high"]);

    let sender = spacetimedb::Identity::from_byte_array([7; 32]);
    let limbs: Vec<u64> = sender
        .to_byte_array()
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let ret = spacetimedb::rt::__call_view__(
        view_index(&def, "caller"),
        limbs[0],
        limbs[1],
        limbs[2],
        limbs[3],
        BytesSource::INVALID,
        BytesSink(3),
    );
    assert_eq!(ret, 2);
    let rows = view_rows(&host.0.borrow_mut().sinks.remove(&3).expect("row written"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, sender.to_hex().to_string(), "the view saw the caller");
}

#[test]
fn logs_and_panics_reach_console_log() {
    let host = install();
    spacetimedb::logger::__preinit__15_init_log();
    log::info!(target: "demo", "hello {}", 42);
    std::panic::set_hook(Box::new(|_| {}));
    spacetimedb::logger::__preinit__00_panic_hook();
    let result = std::panic::catch_unwind(|| panic!("boom {}", 1));
    let _ = std::panic::take_hook();
    assert!(result.is_err());
    let logs = host.logs();
    assert_eq!(
        logs[0],
        (
            2,
            Some("demo".to_string()),
            Some(file!().to_string()),
            "hello 42".to_string()
        )
    );
    assert_eq!(
        (logs[1].0, logs[1].1.clone(), logs[1].3.as_str()),
        (101, None, "boom 1")
    );
    assert_eq!(logs[1].2.as_deref(), Some(file!()));
}
