/**
 * Procedure calls and one-off queries against a fake server: what the client sends, how the
 * answer settles the promise (decoded value, typed rows, the server's error), and that
 * waiting requests are rejected when the connection ends or drops.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, InternalError, ProcedureError, protocol, QueryError, QueryResult, t, Timestamp, TimeDuration } from '../src/index.js';
import { connect, FakeSocket, initialConnection, person, personTable, rowList, until, Person } from './fake.js';

const AddArgs = t.product<{ a: number; b: number }>('AddArgs', [
  ['a', t.u32()],
  ['b', t.u32()],
]);

async function connected(reconnect = false) {
  const { conn, sockets } = connect((b) => (reconnect ? b.withReconnect({ initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 5 }) : b));
  await until('a socket', () => sockets.length === 1);
  const socket = sockets[0]!;
  socket.open();
  socket.push(initialConnection());
  await until('connected', () => conn.identity !== undefined);
  return { conn, socket, sockets };
}

function sent<Tag extends protocol.ClientMessage['tag']>(socket: FakeSocket, tag: Tag, nth = 0): Extract<protocol.ClientMessage, { tag: Tag }> {
  const found = socket.sent.filter((m): m is Extract<protocol.ClientMessage, { tag: Tag }> => m.tag === tag)[nth];
  assert.ok(found !== undefined, `no ${tag} #${nth} sent`);
  return found;
}

function procedureResult(requestId: number, status: protocol.ProcedureStatus): protocol.ServerMessage {
  return { tag: 'ProcedureResult', value: { status, timestamp: new Timestamp(1n), totalHostExecutionDuration: new TimeDuration(10n), requestId } };
}

test('a procedure call resolves with its decoded return value; a failure rejects with the host message', async () => {
  const { conn, socket } = await connected();
  const sum = conn.callProcedure('add', AddArgs, { a: 2, b: 40 }, t.u32());
  await until('call sent', () => socket.sent.some((m) => m.tag === 'CallProcedure'));
  const call = sent(socket, 'CallProcedure');
  assert.equal(call.value.procedure, 'add');
  assert.deepEqual([...call.value.args], [2, 0, 0, 0, 40, 0, 0, 0]);
  socket.push(procedureResult(call.value.requestId, { tag: 'Returned', value: encode(t.u32(), 42) }));
  assert.equal(await sum, 42);

  const failing = conn.callProcedure('panic_in_tx', t.product('PanicInTxArgs', []), {}, t.unit());
  await until('second call', () => socket.sent.filter((m) => m.tag === 'CallProcedure').length === 2);
  socket.push(procedureResult(sent(socket, 'CallProcedure', 1).value.requestId, { tag: 'InternalError', value: 'boom inside with_tx' }));
  await assert.rejects(failing, (e: unknown) => e instanceof ProcedureError && e.procedure === 'panic_in_tx' && e.message === 'boom inside with_tx');

  const misshapen = conn.callProcedure('count_fetched', t.product('CountFetchedArgs', []), {}, t.u64());
  await until('third call', () => socket.sent.filter((m) => m.tag === 'CallProcedure').length === 3);
  socket.push(procedureResult(sent(socket, 'CallProcedure', 2).value.requestId, { tag: 'Returned', value: new Uint8Array([1, 2]) }));
  await assert.rejects(misshapen, (e: unknown) => e instanceof InternalError && /count_fetched/.test(e.message));

  await assert.rejects(conn.callProcedure('add', AddArgs, { a: -1, b: 0 }, t.u32()), /invalid arguments for procedure `add`/);
});

test('a one-off query decodes the rows of known tables, keeps unknown ones raw, and reports refusals', async () => {
  const { conn, socket } = await connected();
  const ann: Person = { id: 1, name: 'ann', level: 2 };
  const answer = conn.query('SELECT * FROM person');
  await until('query sent', () => socket.sent.some((m) => m.tag === 'OneOffQuery'));
  const q = sent(socket, 'OneOffQuery');
  assert.equal(q.value.queryString, 'SELECT * FROM person');
  const stranger = new Uint8Array([9, 9]);
  socket.push({
    tag: 'OneOffQueryResult',
    value: {
      requestId: q.value.requestId,
      result: { tag: 'ok', value: { tables: [{ table: 'person', rows: rowList([person(ann)]) }, { table: 'elsewhere', rows: rowList([stranger]) }] } },
    },
  });
  const result = await answer;
  assert.equal(result.length, 2);
  assert.deepEqual(result.rowsOf(personTable), [ann]);
  const raw = result.tables.find((table) => table.name === 'elsewhere');
  assert.ok(raw !== undefined && !raw.known);
  assert.deepEqual([...raw.rows[0]!], [9, 9]);
  // One-off rows never enter the cache.
  assert.equal(conn.db.person.count(), 0);

  const refused = conn.query('SELECT * FROM nowhere');
  await until('second query', () => socket.sent.filter((m) => m.tag === 'OneOffQuery').length === 2);
  socket.push({ tag: 'OneOffQueryResult', value: { requestId: sent(socket, 'OneOffQuery', 1).value.requestId, result: { tag: 'err', value: 'no such table: `nowhere`' } } });
  await assert.rejects(refused, (e: unknown) => e instanceof QueryError && e.message === 'no such table: `nowhere`');

  // A projection's rows come under the table's name but are not its rows: they stay raw.
  const projected = conn.query('SELECT name FROM person');
  await until('third query', () => socket.sent.filter((m) => m.tag === 'OneOffQuery').length === 3);
  socket.push({
    tag: 'OneOffQueryResult',
    value: {
      requestId: sent(socket, 'OneOffQuery', 2).value.requestId,
      result: { tag: 'ok', value: { tables: [{ table: 'person', rows: rowList([stranger]) }] } },
    },
  });
  const names = await projected;
  assert.deepEqual(names.rowsOf(personTable), []);
  const namesRaw = names.tables[0];
  assert.ok(namesRaw !== undefined && !namesRaw.known);
  assert.deepEqual([...namesRaw.rows[0]!], [9, 9]);
});

test('waiting procedure calls and queries are rejected when the connection ends or drops', async () => {
  const { conn, socket } = await connected();
  const call = conn.callProcedure('add', AddArgs, { a: 1, b: 1 }, t.u32());
  const query = conn.query('SELECT * FROM person');
  await until('both sent', () => socket.sent.length >= 2);
  conn.disconnect();
  await assert.rejects(call, (e: unknown) => e instanceof InternalError && /procedure `add`: the connection ended/.test(e.message));
  await assert.rejects(query, (e: unknown) => e instanceof InternalError && /one-off query: the connection ended/.test(e.message));
  await assert.rejects(conn.callProcedure('add', AddArgs, { a: 1, b: 1 }, t.u32()), /connection has ended/);
  await assert.rejects(conn.query('SELECT 1'), /connection has ended/);

  const again = await connected(true);
  const lost = again.conn.callProcedure('add', AddArgs, { a: 1, b: 1 }, t.u32());
  await until('sent', () => again.socket.sent.some((m) => m.tag === 'CallProcedure'));
  again.socket.drop();
  await assert.rejects(lost, (e: unknown) => e instanceof InternalError && /was lost/.test(e.message));
  again.conn.disconnect();
});

test('a callback context runs one-off queries too', async () => {
  const { conn, socket } = await connected();
  let fromCallback: Promise<QueryResult> | undefined;
  conn.db.person.onInsert((ctx) => {
    fromCallback ??= ctx.query('SELECT * FROM person');
  });
  conn.subscriptionBuilder().subscribe(['SELECT * FROM person']);
  await until('subscribed', () => socket.sent.some((m) => m.tag === 'Subscribe'));
  const sub = sent(socket, 'Subscribe');
  socket.push({
    tag: 'SubscribeApplied',
    value: { requestId: 0, querySetId: sub.value.querySetId, rows: { tables: [{ table: 'person', rows: rowList([person({ id: 3, name: 'cy', level: 1 })]) }] } },
  });
  await until('query sent from the callback', () => socket.sent.some((m) => m.tag === 'OneOffQuery'));
  const q = sent(socket, 'OneOffQuery');
  socket.push({ tag: 'OneOffQueryResult', value: { requestId: q.value.requestId, result: { tag: 'ok', value: { tables: [] } } } });
  assert.ok(fromCallback !== undefined);
  assert.equal((await fromCallback).length, 0);
  conn.disconnect();
});
