/**
 * The behaviour vectors every Spacetime SDK reads (`protocol/tests/vectors/`, described in
 * its README): the reconnect backoff (`reconnect.json`), the subscribe URL
 * (`subscribe_url.json`) and the client cache's row events and contents (`cache.json`).
 * The cache vectors drive the SDK's own {@link ClientCache}, fed each message through the
 * methods the connection uses (`collectApplied`, `releaseQuerySet`, `collectTransaction`).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClientCache, DecodeError, DEFAULT_RECONNECT_POLICY, fromHex, PendingApply, protocol, reconnectDelayMs, subscribeUrl, t, toHex } from '../src/index.js';
import type { Compression, ProductType, TableDef, TableDiff } from '../src/index.js';
import { rowList } from './fake.js';

const vectors = fileURLToPath(new URL('../../../../protocol/tests/vectors/', import.meta.url));

interface VectorFile<Case> {
  description: string;
  cases: (Case & { name: string })[];
}

function readVectors<Case>(name: string): VectorFile<Case> {
  const file = JSON.parse(readFileSync(`${vectors}${name}`, 'utf8')) as VectorFile<Case>;
  assert.equal(typeof file.description, 'string', `${name}: no description`);
  assert.ok(Array.isArray(file.cases) && file.cases.length > 0, `${name}: no cases`);
  return file;
}

interface PolicyJson {
  initial_delay_ms: number;
  max_delay_ms: number;
  max_attempts: number | null;
}

test('reconnect.json: the default policy and every delay', () => {
  const file = readVectors<{ failures: number; delay_ms: number; policy?: PolicyJson }>('reconnect.json') as VectorFile<{
    failures: number;
    delay_ms: number;
    policy?: PolicyJson;
  }> & { policy: PolicyJson };
  const policy = (p: PolicyJson) => ({ initialDelayMs: p.initial_delay_ms, maxDelayMs: p.max_delay_ms, maxAttempts: p.max_attempts ?? undefined });
  assert.deepEqual({ ...DEFAULT_RECONNECT_POLICY }, policy(file.policy));
  for (const c of file.cases) {
    // The defaults apply to an empty policy, as `withReconnect()` gives.
    const p = c.policy === undefined ? {} : policy(c.policy);
    assert.equal(reconnectDelayMs(p, c.failures), c.delay_ms, c.name);
  }
  assert.ok(file.cases.length >= 34, `reconnect.json: ${file.cases.length} cases, expected at least 34`);
});

interface UrlCase {
  uri: string;
  database: string;
  compression: 'None' | 'Gzip' | 'Brotli';
  confirmed: boolean | null;
  url?: string;
  error?: boolean;
}

test('subscribe_url.json: every URL, and every refusal', () => {
  const file = readVectors<UrlCase>('subscribe_url.json');
  for (const c of file.cases) {
    const compression = c.compression.toLowerCase() as Compression;
    const url = () => subscribeUrl(c.uri, c.database, compression, c.confirmed ?? undefined);
    if (c.error === true) assert.throws(url, TypeError, c.name);
    else assert.equal(url(), c.url, c.name);
  }
  assert.ok(file.cases.length >= 21, `subscribe_url.json: ${file.cases.length} cases, expected at least 21`);
});

/** A vector row: its `u32` key (the primary key of tables that have one) and all its bytes, as hex. */
interface VectorRow {
  key: number;
  hex: string;
}

/** Vector rows are opaque: a `u32` (little-endian), then any bytes. */
const vectorRow: ProductType<VectorRow> = {
  name: 'VectorRow',
  fields: [['key', t.u32()]],
  serialize(w, row) {
    w.writeRaw(fromHex(row.hex));
  },
  deserialize(r) {
    const bytes = r.readRaw(r.remaining);
    if (bytes.length < 4) throw new DecodeError(`a vector row has ${bytes.length} bytes; it starts with a u32`);
    return { key: new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true), hex: toHex(bytes) };
  },
};

type Rows = Record<string, string[]>;
type Message =
  | { kind: 'subscribe_applied' | 'unsubscribe_applied'; query_set: number; rows: Rows }
  | { kind: 'transaction_update'; tables: Record<string, { inserts: string[]; deletes: string[] }> };
type EventJson = { event: 'insert' | 'delete'; table: string; row: string } | { event: 'update'; table: string; old: string; new: string };
interface CacheCase {
  tables: Record<string, { primary_key: number | null }>;
  steps: { message: Message; events: EventJson[]; cache: Rows; ordered?: boolean }[];
}

/** The query set a transaction's rows are attributed to: the vectors give none, and no case subscribes this one. */
const TRANSACTION_QUERY_SET = 4294967295;

const list = (rows: string[]) => rowList(rows.map(fromHex));

function queryRows(rows: Rows): protocol.QueryRows {
  return { tables: Object.entries(rows).map(([table, r]) => ({ table, rows: list(r) })) };
}

/** Feeds `message` to `cache` as the connection does, and returns the diffs it reports. */
function apply(cache: ClientCache, message: Message): TableDiff<unknown>[] {
  const pending = new PendingApply();
  switch (message.kind) {
    case 'subscribe_applied':
      cache.collectApplied(pending, message.query_set, queryRows(message.rows));
      break;
    case 'unsubscribe_applied':
      cache.releaseQuerySet(pending, message.query_set);
      break;
    case 'transaction_update':
      cache.collectTransaction(pending, {
        querySets: [
          {
            querySetId: TRANSACTION_QUERY_SET,
            tables: Object.entries(message.tables).map(([tableName, change]) => ({
              tableName,
              rows: [{ tag: 'PersistentTable' as const, value: { inserts: list(change.inserts), deletes: list(change.deletes) } }],
            })),
          },
        ],
      });
      break;
  }
  return cache.apply(pending);
}

/** Events in the order the connection fires them for `diffs` (deletes, updates, inserts per table). */
function eventsOf(diffs: TableDiff<unknown>[]): string[] {
  const out: string[] = [];
  for (const diff of diffs) {
    for (const row of diff.deletes as VectorRow[]) out.push(`delete ${diff.table} ${row.hex}`);
    for (const [o, n] of diff.updates as [VectorRow, VectorRow][]) out.push(`update ${diff.table} ${o.hex} -> ${n.hex}`);
    for (const row of diff.inserts as VectorRow[]) out.push(`insert ${diff.table} ${row.hex}`);
  }
  return out;
}

function eventText(e: EventJson): string {
  return e.event === 'update' ? `update ${e.table} ${e.old} -> ${e.new}` : `${e.event} ${e.table} ${e.row}`;
}

test('cache.json: every step fires the events and leaves the rows given', () => {
  const file = readVectors<CacheCase>('cache.json');
  let steps = 0;
  for (const c of file.cases) {
    const defs: TableDef<unknown>[] = Object.entries(c.tables).map(([name, t]) => {
      assert.ok(t.primary_key === null || t.primary_key === 0, `${c.name}: vector primary keys are column 0`);
      const def: TableDef<VectorRow> = { name, rowType: vectorRow, uniqueColumns: [], isEvent: false };
      return (t.primary_key === 0 ? { ...def, primaryKey: 'key' } : def) as TableDef<unknown>;
    });
    const cache = new ClientCache(defs);
    c.steps.forEach((step, i) => {
      steps += 1;
      const got = eventsOf(apply(cache, step.message));
      const expected = step.events.map(eventText);
      if (step.ordered !== true) {
        got.sort();
        expected.sort();
      }
      assert.deepEqual(got, expected, `${c.name} step ${i}: events`);
      assert.deepEqual(Object.keys(step.cache).sort(), Object.keys(c.tables).sort(), `${c.name} step ${i}: the cache lists every table`);
      for (const table of Object.keys(c.tables)) {
        const rows = [...(cache.table(table)?.iter() ?? [])].map((r) => (r as VectorRow).hex).sort();
        assert.deepEqual(rows, step.cache[table], `${c.name} step ${i}: rows of ${table}`);
      }
    });
  }
  assert.ok(file.cases.length >= 15 && steps >= 46, `cache.json: ${file.cases.length} cases of ${steps} steps, expected at least 15 of 46`);
});
