/**
 * Cache and connection semantics against a fake server: reference counts across
 * overlapping query sets, primary-key updates, event tables, row callbacks before a
 * reducer's promise settles, subscription errors releasing rows, unsubscribe, connect
 * errors, and reconnect with resubscription reporting only real differences.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InternalError, ReducerError, encode, protocol, t } from '../src/index.js';
import { applied, connect, initialConnection, note, NOW, person, tx, until, Person } from './fake.js';

async function connected() {
  const events: string[] = [];
  const { conn, sockets } = connect((b) => b.withToken('secret').onConnect((_c, id, token) => events.push(`connect ${id.toHexString().slice(-3)} ${token}`)));
  await until('a socket', () => sockets.length === 1);
  const socket = sockets[0]!;
  socket.open();
  socket.push(initialConnection());
  await until('onConnect', () => events.length === 1);
  const log = (e: string) => events.push(e);
  conn.db.person.onInsert((ctx, p) => log(`insert ${p.name}/${p.level} ${ctx.event.tag}`));
  conn.db.person.onDelete((ctx, p) => log(`delete ${p.name} ${ctx.event.tag}`));
  conn.db.person.onUpdate((_ctx, a, b) => log(`update ${a.name}/${a.level}->${b.name}/${b.level}`));
  conn.db.note.onInsert((_ctx, n) => log(`note+ ${n.text}`));
  conn.db.note.onDelete((_ctx, n) => log(`note- ${n.text}`));
  conn.db.ev.onInsert((_ctx, n) => log(`ev ${n.text}`));
  return { conn, socket, events };
}

const ann: Person = { id: 1, name: 'ann', level: 1 };
const bob: Person = { id: 2, name: 'bob', level: 1 };

test('the token goes to the socket and the client keeps its own token', async () => {
  const { conn, socket, events } = await connected();
  assert.equal(socket.token, 'secret');
  assert.equal(socket.url.pathname, '/v1/database/db/subscribe');
  assert.equal(socket.url.searchParams.get('compression'), 'Gzip');
  assert.deepEqual(events, ['connect abc secret']);
  assert.equal(conn.token, 'secret');
  assert.ok(conn.isActive);
});

test('overlapping query sets are reference counted', async () => {
  const { conn, socket, events } = await connected();
  const a = conn.subscriptionBuilder().subscribe('SELECT * FROM person');
  const b = conn.subscriptionBuilder().subscribe(['SELECT * FROM person WHERE level = 1']);
  await until('two subscribes', () => socket.sent.filter((m) => m.tag === 'Subscribe').length === 2);
  socket.push(applied(1, 'person', [person(ann), person(bob)]));
  socket.push(applied(2, 'person', [person(ann)]));
  await until('both applied', () => a.isActive() && b.isActive());
  assert.deepEqual(events.slice(1), ['insert ann/1 SubscribeApplied', 'insert bob/1 SubscribeApplied']);
  assert.equal(conn.db.person.count(), 2);
  assert.equal(conn.db.person.id.find(1)?.name, 'ann');
  assert.equal(conn.db.person.name.find('bob')?.id, 2);
  assert.deepEqual([...conn.db.person.level.filter(1)].map((p) => p.name).sort(), ['ann', 'bob']);

  // Ending one set drops only the rows no other set holds.
  b.unsubscribe();
  await until('unsubscribe sent', () => socket.sent.some((m) => m.tag === 'Unsubscribe'));
  const unsub = socket.sent.find((m) => m.tag === 'Unsubscribe');
  assert.equal(unsub?.tag === 'Unsubscribe' && unsub.value.flags.tag, 'SendDroppedRows');
  socket.push({ tag: 'UnsubscribeApplied', value: { requestId: 9, querySetId: 2, rows: undefined } });
  await until('b ended', () => b.isEnded());
  assert.equal(conn.db.person.count(), 2, 'ann is still held by the first set');
  assert.equal(events.length, 3, 'nothing fired');
  a.unsubscribe();
  socket.push({ tag: 'UnsubscribeApplied', value: { requestId: 10, querySetId: 1, rows: undefined } });
  await until('a ended', () => a.isEnded());
  assert.deepEqual(events.slice(3).sort(), ['delete ann UnsubscribeApplied', 'delete bob UnsubscribeApplied']);
  assert.equal(conn.db.person.count(), 0);
});

test('a delete and insert of the same primary key is an update; without a key it is not', async () => {
  const { conn, socket, events } = await connected();
  conn.subscriptionBuilder().subscribe(['SELECT * FROM person', 'SELECT * FROM note']);
  socket.push(applied(1, 'person', [person(ann)]));
  socket.push({ tag: 'TransactionUpdate', value: tx(1, 'note', [note('x')], []) });
  await until('note', () => conn.db.note.count() === 1);
  events.length = 0;
  socket.push({ tag: 'TransactionUpdate', value: tx(1, 'person', [person({ ...ann, level: 2 })], [person(ann)]) });
  socket.push({ tag: 'TransactionUpdate', value: tx(1, 'note', [note('y')], [note('x')]) });
  await until('note y', () => [...conn.db.note.iter()].some((n) => n.text === 'y'));
  assert.deepEqual(events, ['update ann/1->ann/2', 'note- x', 'note+ y']);
  assert.equal(conn.db.person.id.find(1)?.level, 2);
  // The same row deleted and inserted in one message changes nothing.
  events.length = 0;
  socket.push({ tag: 'TransactionUpdate', value: tx(1, 'note', [note('y')], [note('y')]) });
  socket.push({ tag: 'TransactionUpdate', value: tx(1, 'person', [person(bob)], []) });
  await until('bob', () => conn.db.person.count() === 2);
  assert.deepEqual(events, ['insert bob/1 Transaction']);
});

test('event table rows fire onInsert and are never stored', async () => {
  const { conn, socket, events } = await connected();
  conn.subscriptionBuilder().subscribe('SELECT * FROM ev');
  socket.push({
    tag: 'TransactionUpdate',
    value: { querySets: [{ querySetId: 1, tables: [{ tableName: 'ev', rows: [{ tag: 'EventTable', value: { events: { sizeHint: { tag: 'FixedSize', value: 5 }, rowsData: note('a') } } }] }] }] },
  });
  await until('event', () => events.includes('ev a'));
  assert.equal(conn.db.ev.count(), 0);
});

test("a reducer's row callbacks run before its promise settles; failures reject clearly", async () => {
  const { conn, socket, events } = await connected();
  const done = conn.reducers.setLevel({ id: 1, level: 3 }).then(() => events.push('resolved'));
  await until('call sent', () => socket.sent.some((m) => m.tag === 'CallReducer'));
  const call = socket.sent.find((m) => m.tag === 'CallReducer');
  assert.ok(call?.tag === 'CallReducer');
  assert.equal(call.value.reducer, 'set_level');
  assert.deepEqual([...call.value.args], [1, 0, 0, 0, 3]);
  socket.push({
    tag: 'ReducerResult',
    value: { requestId: call.value.requestId, timestamp: NOW, result: { tag: 'Ok', value: { retValue: new Uint8Array(), transactionUpdate: tx(1, 'person', [person(ann)], []) } } },
  });
  await done;
  assert.deepEqual(events.slice(1), ['insert ann/1 Reducer', 'resolved']);

  const failing = conn.reducers.setLevel({ id: 1, level: 4 });
  await until('second call', () => socket.sent.filter((m) => m.tag === 'CallReducer').length === 2);
  const second = socket.sent.filter((m) => m.tag === 'CallReducer')[1]!;
  socket.push({ tag: 'ReducerResult', value: { requestId: second.value.requestId, timestamp: NOW, result: { tag: 'Err', value: encode(t.string(), 'no such person') } } });
  await assert.rejects(failing, (e: unknown) => e instanceof ReducerError && e.message === 'no such person' && e.reducer === 'set_level');

  const panicking = conn.reducers.setLevel({ id: 1, level: 5 });
  await until('third call', () => socket.sent.filter((m) => m.tag === 'CallReducer').length === 3);
  const third = socket.sent.filter((m) => m.tag === 'CallReducer')[2]!;
  socket.push({ tag: 'ReducerResult', value: { requestId: third.value.requestId, timestamp: NOW, result: { tag: 'InternalError', value: 'panic' } } });
  await assert.rejects(panicking, (e: unknown) => e instanceof InternalError && /set_level.*panic/.test(e.message));

  await assert.rejects(conn.reducers.setLevel({ id: 1, level: 300 }), /invalid arguments for reducer `set_level`.*level.*not a u8/);
});

test('a subscription error releases the rows of that set and calls onError', async () => {
  const { conn, socket, events } = await connected();
  const errors: string[] = [];
  const sub = conn.subscriptionBuilder().onError((_ctx, e) => errors.push(e.message)).subscribe('SELECT * FROM person');
  socket.push(applied(1, 'person', [person(ann)]));
  await until('applied', () => sub.isActive());
  socket.push({ tag: 'SubscriptionError', value: { requestId: undefined, querySetId: 1, error: 'boom' } });
  await until('error', () => errors.length === 1);
  assert.match(errors[0]!, /SELECT \* FROM person failed: boom/);
  assert.ok(sub.isEnded());
  assert.ok(events.includes('delete ann SubscribeError'));
  assert.equal(conn.db.person.count(), 0);
});

test('unsubscribing before the subscription is sent cancels it locally', async () => {
  const { conn, sockets } = connect();
  const sub = conn.subscriptionBuilder().subscribe('SELECT * FROM person');
  sub.unsubscribe();
  assert.ok(sub.isEnded());
  await until('socket', () => sockets.length === 1);
  sockets[0]!.open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sockets[0]!.sent, []);
  assert.throws(() => sub.unsubscribe(), /already ended/);
});

test('a close before the initial connection message is a connect error', async () => {
  const errors: string[] = [];
  const { sockets } = connect((b) => b.onConnectError((_ctx, e) => errors.push(e.message)));
  await until('socket', () => sockets.length === 1);
  sockets[0]!.drop();
  await until('connect error', () => errors.length === 1);
  assert.match(errors[0]!, /code 1006: gone/);
});

test('disconnect runs onDisconnect without an error and rejects waiting calls', async () => {
  const seen: (string | undefined)[] = [];
  const { conn, sockets } = connect((b) => b.onDisconnect((_ctx, e) => seen.push(e?.message)));
  await until('socket', () => sockets.length === 1);
  sockets[0]!.open();
  sockets[0]!.push(initialConnection());
  await until('connected', () => conn.identity !== undefined);
  const call = conn.reducers.setLevel({ id: 1, level: 1 });
  conn.disconnect();
  await assert.rejects(call, InternalError);
  await until('disconnected', () => seen.length === 1);
  assert.deepEqual(seen, [undefined]);
  assert.equal(conn.isActive, false);
  await assert.rejects(conn.reducers.setLevel({ id: 1, level: 1 }), /connection has ended/);
});

test('reconnect resubscribes as the same identity and reports only real differences', async () => {
  const reconnected: string[] = [];
  const { conn, sockets } = connect((b) =>
    b.withReconnect({ initialDelayMs: 1 }).onReconnect((_c, _id, token) => reconnected.push(token)),
  );
  const events: string[] = [];
  conn.db.person.onInsert((ctx, p) => events.push(`insert ${p.name} ${ctx.event.tag}`));
  conn.db.person.onDelete((_ctx, p) => events.push(`delete ${p.name}`));
  conn.db.person.onUpdate((_ctx, a, b) => events.push(`update ${a.level}->${b.level}`));
  let appliedCount = 0;
  const sub = conn.subscriptionBuilder().onApplied(() => appliedCount++).subscribe('SELECT * FROM person');
  await until('socket', () => sockets.length === 1);
  const first = sockets[0]!;
  first.open();
  first.push(initialConnection('minted-token'));
  first.push(applied(1, 'person', [person(ann), person(bob)]));
  await until('applied', () => sub.isActive());
  events.length = 0;

  first.drop();
  await until('second socket', () => sockets.length === 2);
  const second = sockets[1]!;
  assert.equal(second.token, 'minted-token', 'the new socket authenticates as the same identity');
  second.open();
  second.push(initialConnection('minted-token'));
  await until('resubscribe', () => second.sent.some((m) => m.tag === 'Subscribe'));
  const resub = second.sent.find((m) => m.tag === 'Subscribe');
  assert.ok(resub?.tag === 'Subscribe' && resub.value.querySetId === 1 && resub.value.queryStrings[0] === 'SELECT * FROM person');
  // While away, bob levelled up and ann left.
  second.push(applied(1, 'person', [person({ ...bob, level: 9 })]));
  await until('reconnected', () => reconnected.length === 1);
  assert.deepEqual(events.sort(), ['delete ann', 'update 1->9']);
  assert.equal(appliedCount, 1, 'onApplied does not run again');
  assert.ok(sub.isActive());
  assert.equal(conn.db.person.count(), 1);
});

test('a socket lost while resubscribing after a reconnect resubscribes again on the next one', async () => {
  const reconnected: string[] = [];
  const { conn, sockets } = connect((b) => b.withReconnect({ initialDelayMs: 1 }).onReconnect((_c, _id, token) => reconnected.push(token)));
  const events: string[] = [];
  conn.db.person.onDelete((_ctx, p) => events.push(`delete ${p.name}`));
  const sub = conn.subscriptionBuilder().subscribe('SELECT * FROM person');
  await until('socket', () => sockets.length === 1);
  sockets[0]!.open();
  sockets[0]!.push(initialConnection('t'), applied(1, 'person', [person(ann), person(bob)]));
  await until('applied', () => sub.isActive());

  sockets[0]!.drop();
  await until('second socket', () => sockets.length === 2);
  const second = sockets[1]!;
  second.open();
  second.push(initialConnection('t'));
  await until('first resubscribe', () => second.sent.some((m) => m.tag === 'Subscribe'));
  // Lost before the resubscription was applied.
  second.drop();
  await until('third socket', () => sockets.length === 3);
  const third = sockets[2]!;
  third.open();
  third.push(initialConnection('t'));
  await until('second resubscribe', () => third.sent.some((m) => m.tag === 'Subscribe' && m.value.querySetId === 1));
  assert.deepEqual(events, [], 'nothing is reported before the resubscription is applied');
  third.push(applied(1, 'person', [person(ann), person(bob)]));
  await until('reconnected', () => reconnected.length === 1);
  assert.deepEqual(events, [], 'the same rows came back');
  assert.equal(conn.db.person.count(), 2);
});

test('gzip and brotli frames from the server are decompressed', async () => {
  const zlib = await import('node:zlib');
  const { conn, sockets } = connect((b) => b.withCompression('brotli'));
  await until('socket', () => sockets.length === 1);
  const socket = sockets[0]!;
  assert.equal(socket.url.searchParams.get('compression'), 'Brotli');
  socket.open();
  socket.push(initialConnection());
  await until('connected', () => conn.identity !== undefined);
  conn.subscriptionBuilder().subscribe('SELECT * FROM note');
  const frame = (tag: number, body: Uint8Array): ArrayBuffer => {
    const out = new Uint8Array(body.length + 1);
    out[0] = tag;
    out.set(body, 1);
    return out.buffer;
  };
  const message = (text: string) =>
    encode(protocol.serverMessageType, { tag: 'TransactionUpdate', value: tx(1, 'note', [note(text)], []) });
  socket.onmessage?.({ data: frame(2, new Uint8Array(zlib.gzipSync(message('zipped')))) });
  socket.onmessage?.({ data: frame(1, new Uint8Array(zlib.brotliCompressSync(message('brotli')))) });
  socket.onmessage?.({ data: frame(0, message('plain')) });
  await until('three notes', () => conn.db.note.count() === 3);
  // Frames are applied in arrival order even though decompression is asynchronous.
  assert.deepEqual([...conn.db.note.iter()].map((n) => n.text), ['zipped', 'brotli', 'plain']);
  conn.disconnect();
});

test('an unknown compression tag ends the connection with a clear error', async () => {
  const seen: string[] = [];
  const { conn, sockets } = connect((b) => b.onDisconnect((_ctx, e) => seen.push(e?.message ?? 'none')));
  await until('socket', () => sockets.length === 1);
  sockets[0]!.open();
  sockets[0]!.push(initialConnection());
  await until('connected', () => conn.identity !== undefined);
  sockets[0]!.onmessage?.({ data: new Uint8Array([9, 0]).buffer });
  await until('disconnect', () => seen.length === 1);
  assert.match(seen[0]!, /unknown compression tag 9/);
});

test('subscribeToAllTables asks for every table the bindings know', async () => {
  const { conn, socket } = await connected();
  conn.subscriptionBuilder().subscribeToAllTables();
  await until('subscribe', () => socket.sent.some((m) => m.tag === 'Subscribe'));
  const sub = socket.sent.find((m) => m.tag === 'Subscribe');
  assert.ok(sub?.tag === 'Subscribe');
  assert.deepEqual(sub.value.queryStrings, ['SELECT * FROM person', 'SELECT * FROM note', 'SELECT * FROM ev']);
  assert.throws(() => conn.subscriptionBuilder().subscribe([]), /at least one query/);
});

test('the builder names what is missing', () => {
  assert.throws(() => connect((b) => b.withDatabaseName('')), /withDatabaseName/);
  assert.throws(() => connect((b) => b.withUri('http://[bad')), /not a URL/);
});

test('a message of 300,000 rows applies (no argument-spread stack overflow) and counts references', async () => {
  const { conn, socket, events } = await connected();
  conn.subscriptionBuilder().subscribe('SELECT * FROM note');
  const row = note('');
  const n = 300_000;
  const data = new Uint8Array(row.length * n);
  for (let i = 0; i < n; i++) data.set(row, i * row.length);
  const list = { sizeHint: { tag: 'FixedSize' as const, value: row.length }, rowsData: data };
  socket.push({ tag: 'SubscribeApplied', value: { requestId: 0, querySetId: 1, rows: { tables: [{ table: 'note', rows: list }] } } });
  await until('applied', () => conn.db.note.count() === 1, 10_000);
  assert.deepEqual(events.slice(1), ['note+ '], 'one row, inserted once');
});
