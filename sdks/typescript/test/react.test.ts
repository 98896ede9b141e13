/**
 * The React entry point against a fake server: `useTable` re-renders on row changes and
 * lets go of its callbacks on unmount, `useSubscription` subscribes while mounted and
 * unsubscribes after, and `useReducer` tracks pending and error state.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement, type ReactElement, type ReactNode } from 'react';
import TestRenderer, { act } from 'react-test-renderer';
import { encode, t } from '../src/index.js';
import { SpacetimeDBProvider, useReducer, useSubscription, useTable } from '../src/react/index.js';
import { applied, connect, initialConnection, NOW, person, personTable, Reducers, until, type Conn } from './fake.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

async function ready() {
  const { conn, sockets } = connect();
  await until('socket', () => sockets.length === 1);
  const socket = sockets[0]!;
  socket.open();
  socket.push(initialConnection());
  await until('connected', () => conn.identity !== undefined);
  return { conn, socket };
}

function wrap(conn: Conn, child: ReactNode): ReactElement {
  return createElement(SpacetimeDBProvider, { connection: conn }, child);
}

test('useTable re-renders on row changes and unregisters on unmount', async () => {
  const { conn, socket } = await ready();
  let renders = 0;
  function Names(): ReactNode {
    renders++;
    const people = useTable(conn.db.person);
    return people.map((p) => p.name).sort().join(',');
  }
  let root: TestRenderer.ReactTestRenderer | undefined;
  await act(async () => {
    root = TestRenderer.create(wrap(conn, createElement(Names)));
  });
  assert.equal(root!.toJSON(), null);
  conn.subscriptionBuilder().subscribe('SELECT * FROM person');
  await act(async () => {
    socket.push(applied(1, 'person', [person({ id: 1, name: 'ann', level: 1 }), person({ id: 2, name: 'bob', level: 1 })]));
    await until('rows', () => conn.db.person.count() === 2);
  });
  assert.equal(root!.toJSON(), 'ann,bob');
  const before = renders;
  await act(async () => {
    socket.push({ tag: 'TransactionUpdate', value: { querySets: [] } });
    await new Promise((r) => setImmediate(r));
  });
  assert.equal(renders, before, 'no change, no render');
  const runtime = conn.tableRuntime(personTable);
  assert.equal(runtime.onInsert.size, 1);
  await act(async () => root!.unmount());
  assert.equal(runtime.onInsert.size + runtime.onDelete.size + runtime.onUpdate.size, 0, 'the hook removed its callbacks');
});

test('useSubscription subscribes while mounted and unsubscribes on unmount', async () => {
  const { conn, socket } = await ready();
  const states: boolean[] = [];
  function Sub(): ReactNode {
    const s = useSubscription(['SELECT * FROM person']);
    states.push(s.isApplied);
    return s.isApplied ? 'applied' : 'waiting';
  }
  let root: TestRenderer.ReactTestRenderer | undefined;
  await act(async () => {
    root = TestRenderer.create(wrap(conn, createElement(Sub)));
  });
  await until('subscribe sent', () => socket.sent.some((m) => m.tag === 'Subscribe'));
  const sub = socket.sent.find((m) => m.tag === 'Subscribe');
  assert.ok(sub?.tag === 'Subscribe');
  await act(async () => {
    socket.push(applied(sub.value.querySetId, 'person', []));
    await until('applied', () => states.includes(true));
  });
  assert.equal(root!.toJSON(), 'applied');
  await act(async () => root!.unmount());
  await until('unsubscribe sent', () => socket.sent.some((m) => m.tag === 'Unsubscribe' && m.value.querySetId === sub.value.querySetId));
});

test('useReducer tracks pending calls and the last error', async () => {
  const { conn, socket } = await ready();
  let latest: { pending: boolean; error: Error | undefined; call: (a: { id: number; level: number }) => Promise<void> } | undefined;
  function Caller(): ReactNode {
    latest = useReducer((r: Reducers) => r.setLevel);
    return latest.pending ? 'pending' : (latest.error?.message ?? 'idle');
  }
  let root: TestRenderer.ReactTestRenderer | undefined;
  await act(async () => {
    root = TestRenderer.create(wrap(conn, createElement(Caller)));
  });
  let call: Promise<void> | undefined;
  await act(async () => {
    call = latest!.call({ id: 1, level: 2 }).catch(() => {});
  });
  assert.equal(root!.toJSON(), 'pending');
  const sent = socket.sent.find((m) => m.tag === 'CallReducer');
  assert.ok(sent?.tag === 'CallReducer');
  await act(async () => {
    socket.push({ tag: 'ReducerResult', value: { requestId: sent.value.requestId, timestamp: NOW, result: { tag: 'Err', value: encode(t.string(), 'too high') } } });
    await call;
  });
  assert.equal(root!.toJSON(), 'too high');
});
