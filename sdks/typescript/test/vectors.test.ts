/**
 * The shared vector files: `sats/tests/vectors/bsatn.json` (every value's BSATN, as
 * SpacetimeDB 2.10.1 encodes it) and `protocol/tests/vectors/messages.json` (every v2
 * message). The SDK must encode each value to exactly the recorded bytes and decode the
 * bytes back to the value.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decode, encode, fromHex, toHex, protocol } from '../src/index.js';
import { model, parseJson, Json } from './satsjson.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

test('every BSATN vector encodes and decodes exactly', () => {
  const cases = parseJson(readFileSync(`${repo}sats/tests/vectors/bsatn.json`, 'utf8')) as { [k: string]: Json }[];
  assert.ok(cases.length >= 65, `expected at least 65 cases, found ${cases.length}`);
  for (const c of cases) {
    const name = c['name'] as string;
    const m = model(c['type']!);
    const expected = m.value(c['value']!);
    const bytes = fromHex(c['bsatn_hex'] as string);
    assert.equal(toHex(encode(m.type, expected)), c['bsatn_hex'], `${name}: encoding`);
    assert.deepEqual(decode(m.type, bytes), expected, `${name}: decoding`);
  }
});

test('every v2 message vector decodes and re-encodes to the same bytes', () => {
  const cases = JSON.parse(readFileSync(`${repo}protocol/tests/vectors/messages.json`, 'utf8')) as { name: string; bsatn_hex: string }[];
  assert.equal(cases.length, 21);
  const tags = new Set<string>();
  for (const c of cases) {
    const bytes = fromHex(c.bsatn_hex);
    const type = c.name.startsWith('client_') ? protocol.clientMessageType : protocol.serverMessageType;
    const message = decode<{ tag: string }>(type as never, bytes);
    tags.add(`${c.name.split('_')[0]}:${message.tag}`);
    assert.equal(toHex(encode<{ tag: string }>(type as never, message)), c.bsatn_hex, `${c.name}: re-encoding`);
  }
  assert.equal(tags.size, 5 + 8, 'every variant of both message enums is covered');
});

test('decoded messages carry the values the vectors were made from', () => {
  const find = (name: string): Uint8Array => {
    const cases = JSON.parse(readFileSync(`${repo}protocol/tests/vectors/messages.json`, 'utf8')) as { name: string; bsatn_hex: string }[];
    return fromHex(cases.find((c) => c.name === name)!.bsatn_hex);
  };
  const [init] = protocol.decodeServerMessages(find('server_initial_connection'), 'v2');
  assert.equal(init?.tag, 'InitialConnection');
  if (init?.tag !== 'InitialConnection') return;
  assert.equal(init.value.identity.toHexString(), '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20');
  assert.equal(init.value.connectionId.toHexString(), 'a1a2a3a4a5a6a7a8a9aaabacadaeafb0');
  assert.equal(init.value.token, 'tok');

  const [tx] = protocol.decodeServerMessages(find('server_transaction_update'), 'v2');
  assert.equal(tx?.tag, 'TransactionUpdate');
  if (tx?.tag !== 'TransactionUpdate') return;
  const user = tx.value.querySets[0]!.tables[0]!;
  assert.equal(user.tableName, 'user');
  const rows = user.rows[0]!;
  assert.equal(rows.tag, 'PersistentTable');
  if (rows.tag !== 'PersistentTable') return;
  assert.deepEqual(protocol.splitRows(rows.value.inserts).map(toHex), ['01000000', '02000000']);
  assert.deepEqual(protocol.splitRows(rows.value.deletes).map(toHex), ['010000', '0200']);

  const [err] = protocol.decodeServerMessages(find('server_reducer_err'), 'v2');
  assert.equal(err?.tag, 'ReducerResult');
  if (err?.tag !== 'ReducerResult' || err.value.result.tag !== 'Err') return assert.fail('an Err outcome');
  assert.equal(err.value.timestamp.microsSinceUnixEpoch, 1_700_000_000_123_456n);
});

test('v3 frames hold several messages; v2 frames exactly one', () => {
  const one = protocol.encodeClientMessages([{ tag: 'OneOffQuery', value: { requestId: 5, queryString: 'SELECT 1' } }]);
  assert.equal(toHex(one), '02050000000800000053454c4543542031');
  const init = fromHex('00' + '00'.repeat(32) + '01' + '00'.repeat(15) + '00000000');
  const twice = new Uint8Array([...init, ...init]);
  assert.equal(protocol.decodeServerMessages(twice, 'v3').length, 2);
  assert.throws(() => protocol.decodeServerMessages(twice, 'v2'), /follow the server's message/);
  assert.throws(() => protocol.decodeServerMessages(new Uint8Array(), 'v3'), /empty message/);
});

test('bad input gets clear errors', () => {
  assert.throws(() => encode(model({ U8: [] }).type, 256), /not a u8: expected an integer from 0 to 255/);
  assert.throws(() => encode(model({ U64: [] }).type, 5), /expected a bigint/);
  assert.throws(() => decode(model({ U32: [] }).type, fromHex('0102')), /ends early/);
  assert.throws(() => decode(model({ Bool: [] }).type, fromHex('02')), /invalid bool/);
  assert.throws(() => decode(model({ U8: [] }).type, fromHex('0102')), /left over/);
});
