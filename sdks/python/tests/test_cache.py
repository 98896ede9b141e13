"""Client cache semantics: reference counts across overlapping query sets, net diffs per
message, primary-key update pairing, unique-index lookups, event tables, query sets that
end without the server listing their rows, and the diff between two caches (reconnect)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from spacetime_sdk import bsatn, protocol as p
from spacetime_sdk.cache import CacheError, ClientCache, ColumnKey, RawChange, TableCache, TableInfo, net_diff


@dataclass(frozen=True, slots=True)
class Kv:
    key: int
    value: int


KV = bsatn.StructCodec(Kv, "Kv", lambda: (("key", bsatn.U8), ("value", bsatn.U8)))
PK_TABLE = TableInfo("kv", KV, primary_key=ColumnKey("key", bsatn.U8), unique_columns=(ColumnKey("key", bsatn.U8),))
PLAIN_TABLE = TableInfo("plain", KV)
EVENT_TABLE = TableInfo("events", KV, is_event=True)


def enc(*rows: tuple[int, int]) -> list[bytes]:
    return [KV.to_bytes(Kv(k, v)) for k, v in rows]


def test_counts_deduplicate_rows_across_query_sets() -> None:
    table: TableCache[Kv] = TableCache(PLAIN_TABLE)
    diff = table.apply(RawChange(inserts=enc((1, 1), (1, 1), (2, 2))))
    assert diff.inserts == [Kv(1, 1), Kv(2, 2)], "a row inserted twice is one insert"
    diff = table.apply(RawChange(deletes=enc((1, 1))))
    assert diff.is_empty(), "one of two references is left"
    diff = table.apply(RawChange(deletes=enc((1, 1), (9, 9))))
    assert diff.deletes == [Kv(1, 1)], "an unknown delete is ignored"
    assert sorted(table.rows(), key=lambda r: r.key) == [Kv(2, 2)]


def test_a_row_that_leaves_and_returns_in_one_message_fires_nothing() -> None:
    table: TableCache[Kv] = TableCache(PLAIN_TABLE)
    table.apply(RawChange(inserts=enc((1, 1))))
    diff = table.apply(RawChange(inserts=enc((1, 1)), deletes=enc((1, 1))))
    assert diff.is_empty()
    assert len(table) == 1


def test_without_primary_key_a_changed_row_is_delete_plus_insert() -> None:
    table: TableCache[Kv] = TableCache(PLAIN_TABLE)
    table.apply(RawChange(inserts=enc((1, 10))))
    diff = table.apply(RawChange(inserts=enc((1, 11)), deletes=enc((1, 10))))
    assert (diff.inserts, diff.deletes, diff.updates) == ([Kv(1, 11)], [Kv(1, 10)], [])


def test_primary_key_pairs_deletes_with_inserts_and_unique_index_follows() -> None:
    table: TableCache[Kv] = TableCache(PK_TABLE)
    table.apply(RawChange(inserts=enc((1, 10), (2, 20))))
    diff = table.apply(RawChange(inserts=enc((1, 11), (3, 30)), deletes=enc((1, 10), (2, 20))))
    assert diff.updates == [(Kv(1, 10), Kv(1, 11))]
    assert diff.deletes == [Kv(2, 20)]
    assert diff.inserts == [Kv(3, 30)]
    assert table.find("key", bsatn.U8.to_bytes(1)) == Kv(1, 11)
    assert table.find("key", bsatn.U8.to_bytes(2)) is None
    assert table.find("key", bsatn.U8.to_bytes(3)) == Kv(3, 30)
    with pytest.raises(KeyError, match="no unique column `value`"):
        table.find("value", b"\x00")


def test_event_rows_fire_inserts_and_are_never_stored() -> None:
    table: TableCache[Kv] = TableCache(EVENT_TABLE)
    diff = table.apply(RawChange(events=enc((7, 7), (7, 7), (8, 8))))
    assert diff.inserts == [Kv(7, 7), Kv(7, 7), Kv(8, 8)]
    assert len(table) == 0


def test_undecodable_rows_name_the_table_and_the_fix() -> None:
    table: TableCache[Kv] = TableCache(PLAIN_TABLE)
    with pytest.raises(CacheError, match="table `plain`.*re-run `spacetime generate`"):
        table.apply(RawChange(inserts=[b"\x01"]))


def _update(qs: int, table: str, inserts: list[bytes], deletes: list[bytes]) -> p.TransactionUpdate:
    rows = p.PersistentTableRows(p.BsatnRowList.from_rows(inserts), p.BsatnRowList.from_rows(deletes))
    return p.TransactionUpdate([p.QuerySetUpdate(qs, [p.TableUpdate(table, [rows])])])


def _applied(table: str, rows: list[bytes]) -> p.QueryRows:
    return p.QueryRows([p.SingleTableRows(table, p.BsatnRowList.from_rows(rows))])


def test_overlapping_query_sets_share_rows_until_the_last_lets_go() -> None:
    cache = ClientCache([PK_TABLE, PLAIN_TABLE])
    diffs = cache.apply(cache.changes_of_applied(1, _applied("kv", enc((1, 1), (2, 2)))))
    assert [d.inserts for d in diffs] == [[Kv(1, 1), Kv(2, 2)]]
    diffs = cache.apply(cache.changes_of_applied(2, _applied("kv", enc((2, 2)))))
    assert diffs == [], "row 2 is already cached"
    # Set 1 ends without the server listing its rows: the cache remembers them.
    diffs = cache.apply(cache.changes_of_removed(1))
    assert [d.deletes for d in diffs] == [[Kv(1, 1)]], "row 2 stays: set 2 still holds it"
    diffs = cache.apply(cache.changes_of_update(_update(2, "kv", enc((2, 3)), enc((2, 2)))))
    assert [d.updates for d in diffs] == [[(Kv(2, 2), Kv(2, 3))]]
    diffs = cache.apply(cache.changes_of_removed(2))
    assert [d.deletes for d in diffs] == [[Kv(2, 3)]]
    assert len(cache.table("kv")) == 0


def test_unknown_tables_are_errors_that_name_them() -> None:
    cache = ClientCache([PK_TABLE])
    with pytest.raises(CacheError, match="table `nope`, which these bindings do not know"):
        cache.changes_of_update(_update(1, "nope", enc((1, 1)), []))


def test_diff_between_caches_reports_only_real_changes() -> None:
    old = ClientCache([PK_TABLE])
    old.apply(old.changes_of_applied(1, _applied("kv", enc((1, 1), (2, 2), (3, 3)))))
    new = ClientCache([PK_TABLE])
    new.apply(new.changes_of_applied(1, _applied("kv", enc((1, 1), (2, 5), (4, 4)))))
    (diff,) = old.diff_to(new)
    assert diff.inserts == [Kv(4, 4)]
    assert diff.deletes == [Kv(3, 3)]
    assert diff.updates == [(Kv(2, 2), Kv(2, 5))]


def test_net_diff_of_one_query_set() -> None:
    table: TableCache[Kv] = TableCache(PK_TABLE)
    ins = {k: 1 for k in enc((1, 2), (5, 5))}
    dels = {k: 1 for k in enc((1, 1), (6, 6))}
    diff = net_diff(table, ins, dels)
    assert diff.updates == [(Kv(1, 1), Kv(1, 2))]
    assert diff.inserts == [Kv(5, 5)] and diff.deletes == [Kv(6, 6)]
    assert len(table) == 0, "the cache is not touched"
