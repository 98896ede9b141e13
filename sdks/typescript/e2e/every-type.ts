/**
 * End-to-end check of the SDK against a real server running the all-features module
 * (bindings generated into `bindings-e2e/all-features` by the calling test): rows with
 * extreme values of every column type go out through `insertEveryTypeRow` and come back
 * through the subscription unchanged; a failing reducer rejects with its message; `find`,
 * `filter` and `onUpdate` work on the player table.
 *
 * Usage: `node dist-e2e/e2e/every-type.js --host URL --db NAME`; prints one line per check
 * and `every_type round trip: OK`, or exits 1 with the reason.
 */

import assert from 'node:assert/strict';
import { ConnectionId, Identity, ReducerError, TimeDuration, Timestamp, Uuid } from 'spacetime-sdk';
import { DbConnection, type EveryType } from '../bindings-e2e/all-features/index.js';

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`missing ${name}; usage: every-type.js --host URL --db NAME`);
  return value;
}

const U128_MAX = (1n << 128n) - 1n;
const U256_MAX = (1n << 256n) - 1n;

/** Rows without their id (the server assigns it). */
const rows: Omit<EveryType, 'id'>[] = [
  {
    aU8: 255, aU16: 65535, aU32: 4294967295, aU64: (1n << 64n) - 1n, aU128: U128_MAX, aU256: U256_MAX,
    aI8: 127, aI16: 32767, aI32: 2147483647, aI64: (1n << 63n) - 1n, aI128: (1n << 127n) - 1n, aI256: (1n << 255n) - 1n,
    aF32: Math.fround(3.4028234663852886e38), aF64: Number.MAX_VALUE, aBool: true,
    aString: 'max: héllo, 世界 🚀', aBytes: new Uint8Array([0, 1, 254, 255]), anOption: 'some',
    anIdentity: new Identity(U256_MAX), aConnectionId: new ConnectionId(U128_MAX),
    aTimestamp: new Timestamp(1_700_000_000_123_456n), aTimeDuration: new TimeDuration(1_500_000n), aUuid: new Uuid(U128_MAX),
    aPoint: { x: 1.5, y: -2.25 }, aColor: { tag: 'blue' },
    aShape: { tag: 'polygon', value: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
  },
  {
    aU8: 0, aU16: 0, aU32: 0, aU64: 0n, aU128: 0n, aU256: 0n,
    aI8: -128, aI16: -32768, aI32: -2147483648, aI64: -(1n << 63n), aI128: -(1n << 127n), aI256: -(1n << 255n),
    aF32: -0, aF64: -Number.MIN_VALUE, aBool: false,
    aString: 'min', aBytes: new Uint8Array(), anOption: undefined,
    anIdentity: Identity.zero(), aConnectionId: new ConnectionId(1n),
    aTimestamp: new Timestamp(-1n), aTimeDuration: new TimeDuration(-1n), aUuid: new Uuid(0n),
    aPoint: { x: -0, y: Number.MIN_VALUE }, aColor: { tag: 'red' }, aShape: { tag: 'empty' },
  },
  {
    aU8: 7, aU16: 300, aU32: 70000, aU64: 1n << 40n, aU128: 1n << 100n, aU256: 1n << 200n,
    aI8: -1, aI16: -1, aI32: -1, aI64: -1n, aI128: -1n, aI256: -1n,
    aF32: Math.fround(0.1), aF64: Math.PI, aBool: true,
    aString: '', aBytes: new Uint8Array(1000).map((_, i) => i % 256), anOption: '',
    anIdentity: Identity.fromHexString('c2'.padEnd(64, '0')), aConnectionId: ConnectionId.fromHexString('0123456789abcdef0123456789abcdef'),
    aTimestamp: Timestamp.UNIX_EPOCH, aTimeDuration: new TimeDuration(0n), aUuid: Uuid.parse('0189c3f4-7a3e-7b8c-9d0e-1f2a3b4c5d6e'),
    aPoint: { x: 0, y: 0 }, aColor: { tag: 'green' }, aShape: { tag: 'circle', value: Math.fround(2.5) },
  },
];

async function main(): Promise<void> {
  const conn = await new Promise<DbConnection>((resolve, reject) => {
    DbConnection.builder()
      .withUri(arg('--host'))
      .withDatabaseName(arg('--db'))
      .onConnect((c) => resolve(c))
      .onConnectError((_ctx, e) => reject(e))
      .build();
  });
  await new Promise<void>((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((_ctx, e) => reject(e))
      .subscribe(['SELECT * FROM every_type', 'SELECT * FROM player']);
  });
  console.log('connected and subscribed');

  const events: string[] = [];
  conn.db.everyType.onInsert((ctx, row) => events.push(`${ctx.event.tag}:${row.aString}`));
  for (const [i, sent] of rows.entries()) {
    await conn.reducers.insertEveryTypeRow({ row: { id: 0n, ...sent } });
    // The reducer's row callbacks ran before its promise resolved.
    assert.ok(events.includes(`Reducer:${sent.aString}`), `row ${i}: onInsert ran before the call resolved`);
    const back = [...conn.db.everyType.iter()].find((r) => r.aString === sent.aString);
    assert.ok(back !== undefined, `row ${i} is in the cache`);
    const { id, ...fields } = back;
    assert.ok(id > 0n, 'the server assigned an id');
    assert.deepStrictEqual(fields, sent, `row ${i} came back unchanged`);
    assert.equal(conn.db.everyType.id.find(id)?.aString, sent.aString, 'find by primary key');
    console.log(`row ${i}: ${Object.keys(fields).length} columns round-tripped`);
  }

  await assert.rejects(
    conn.reducers.addPlayer({ name: '', level: 1, score: 0n, color: { tag: 'red' } }),
    (e: unknown) => e instanceof ReducerError && e.message === 'player names must not be empty',
  );
  console.log('a failing reducer rejects with its message');

  await conn.reducers.addPlayer({ name: 'ann', level: 3, score: -5n, color: { tag: 'green' } });
  await conn.reducers.addPlayer({ name: 'bob', level: 3, score: 1n << 40n, color: { tag: 'blue' } });
  assert.deepEqual([...conn.db.player.level.filter(3)].map((p) => p.name).sort(), ['ann', 'bob'], 'filter on the btree index');
  assert.deepEqual([...conn.db.player.color.filter({ tag: 'blue' })].map((p) => p.name), ['bob'], 'filter on the hash index');
  const updates: string[] = [];
  conn.db.player.onUpdate((_ctx, old, now) => updates.push(`${old.name} ${old.level}->${now.level}`));
  await conn.reducers.levelUp({ name: 'ann' });
  assert.deepEqual(updates, ['ann 3->4'], 'a primary-key update is one onUpdate');
  assert.equal(conn.db.player.name.find('ann')?.level, 4);
  console.log('find, filter and onUpdate work');

  conn.disconnect();
  console.log('every_type round trip: OK');
}

main().catch((e: unknown) => {
  console.error(`every_type round trip failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
