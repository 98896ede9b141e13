/**
 * Index handles over a filled cache: multi-column btree `filter` by a prefix of equal
 * values, by a range on the last given column, and the errors for a prefix of the wrong
 * length and for a range over values without an order the client knows.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BtreePrefixIndex, Range, TableCache, TableRuntime, encode, t } from '../src/index.js';
import type { TableDef } from '../src/index.js';

interface Player {
  level: number;
  score: bigint;
  name: string;
}

const playerType = t.product<Player>('Player', [
  ['level', t.u32()],
  ['score', t.i64()],
  ['name', t.string()],
]);

type Prefix = [number] | [Range<number>] | [number, bigint] | [number, Range<bigint>] | [number, bigint, string] | [number, bigint, Range<string>];

function index(rows: Player[]): BtreePrefixIndex<Player, Prefix> {
  const def: TableDef<Player> = { name: 'player', rowType: playerType, uniqueColumns: [], isEvent: false };
  const cache = new TableCache(def);
  cache.apply({ inserts: rows.map((r) => encode(playerType, r)), deletes: [], events: [] });
  return new BtreePrefixIndex<Player, Prefix>(new TableRuntime(def, cache), ['level', 'score', 'name'], [t.u32(), t.i64(), t.string()]);
}

const rows: Player[] = [
  { level: 1, score: 10n, name: 'ann' },
  { level: 2, score: -5n, name: 'bob' },
  { level: 2, score: 7n, name: 'cy' },
  { level: 2, score: 7n, name: 'dé' },
  { level: 3, score: 0n, name: 'eve' },
];

const names = (found: Iterable<Player>): string[] => [...found].map((p) => p.name).sort();

test('a prefix of equal values filters on the leading columns', () => {
  const byLevelScore = index(rows);
  assert.deepEqual(names(byLevelScore.filter([2])), ['bob', 'cy', 'dé']);
  assert.deepEqual(names(byLevelScore.filter([2, 7n])), ['cy', 'dé']);
  assert.deepEqual(names(byLevelScore.filter([2, 7n, 'dé'])), ['dé']);
  assert.deepEqual(names(byLevelScore.filter([4])), []);
});

test('a range on the last given column honours each kind of bound', () => {
  const byLevelScore = index(rows);
  assert.deepEqual(names(byLevelScore.filter([new Range({ tag: 'included', value: 2 })])), ['bob', 'cy', 'dé', 'eve']);
  assert.deepEqual(names(byLevelScore.filter([new Range({ tag: 'excluded', value: 1 }, { tag: 'excluded', value: 3 })])), ['bob', 'cy', 'dé']);
  assert.deepEqual(names(byLevelScore.filter([2, new Range({ tag: 'unbounded' }, { tag: 'included', value: 0n })])), ['bob']);
  assert.deepEqual(names(byLevelScore.filter([2, new Range()])), ['bob', 'cy', 'dé']);
  // Strings order by code point: 'd' < 'dé' < 'e'.
  assert.deepEqual(names(byLevelScore.filter([2, 7n, new Range({ tag: 'excluded', value: 'd' }, { tag: 'excluded', value: 'e' })])), ['dé']);
});

test('a prefix of the wrong length is a named error', () => {
  const byLevelScore = index(rows);
  assert.throws(() => [...byLevelScore.filter([] as unknown as Prefix)], /1 to 3 values of the columns \(level, score, name\)/);
  assert.throws(() => [...byLevelScore.filter([1, 1n, 'a', 'b'] as unknown as Prefix)], /got 4/);
});

test('a range over values without a known order is a named error', () => {
  assert.throws(() => new Range<number>({ tag: 'included', value: 1 }).contains({} as unknown as number), /can only bound numbers, bigints, strings and booleans/);
});
