/**
 * Test doubles: a tiny hand-written module (a `person` table with a primary key, a `note`
 * table without one, an `ev` event table, and one reducer), and a fake server socket that
 * records what the client sends and lets a test push server messages.
 */

import {
  BinaryReader,
  DbConnectionBuilder,
  DbConnectionImpl,
  encode,
  Identity,
  ConnectionId,
  protocol,
  RemoteModule,
  SocketLike,
  t,
  TableDef,
  TableHandle,
  TableHandleWithUpdate,
  TableRuntime,
  Timestamp,
  EventContext,
  UniqueIndex,
  BtreeIndex,
} from '../src/index.js';

export interface Person {
  id: number;
  name: string;
  level: number;
}
export const Person = t.product<Person>('Person', [
  ['id', t.u32()],
  ['name', t.string()],
  ['level', t.u8()],
]);
export interface Note {
  text: string;
}
export const Note = t.product<Note>('Note', [['text', t.string()]]);

export const personTable: TableDef<Person> = { name: 'person', rowType: Person, primaryKey: 'id', uniqueColumns: ['id', 'name'], isEvent: false };
export const noteTable: TableDef<Note> = { name: 'note', rowType: Note, uniqueColumns: [], isEvent: false };
export const evTable: TableDef<Note> = { name: 'ev', rowType: Note, uniqueColumns: [], isEvent: true };

export type Ctx = EventContext<Tables, Reducers>;

export class PersonHandle extends TableHandleWithUpdate<Person, Ctx> {
  readonly id: UniqueIndex<Person, number> = this.unique('id', t.u32());
  readonly name: UniqueIndex<Person, string> = this.unique('name', t.string());
  readonly level: BtreeIndex<Person, number> = this.btree('level', t.u8());
}

export class Tables {
  readonly person: PersonHandle;
  readonly note: TableHandle<Note, Ctx>;
  readonly ev: TableHandle<Note, Ctx>;
  constructor(conn: DbConnectionImpl<Tables, Reducers>) {
    this.person = new PersonHandle(conn.tableRuntime(personTable));
    this.note = new TableHandle(conn.tableRuntime(noteTable) as TableRuntime<Note>);
    this.ev = new TableHandle(conn.tableRuntime(evTable));
  }
}

const SetLevelArgs = t.product<{ id: number; level: number }>('SetLevelArgs', [
  ['id', t.u32()],
  ['level', t.u8()],
]);

export class Reducers {
  constructor(private readonly conn: DbConnectionImpl<Tables, Reducers>) {}
  setLevel(args: { id: number; level: number }): Promise<void> {
    return this.conn.callReducer('set_level', SetLevelArgs, args);
  }
}

export class Conn extends DbConnectionImpl<Tables, Reducers> {}

export const MODULE: RemoteModule<Tables, Reducers> = {
  tables: [personTable, noteTable, evTable],
  createTables: (c) => new Tables(c),
  createReducers: (c) => new Reducers(c),
};

export const IDENTITY = new Identity(0xabcn);

/** A socket whose other end is the test. */
export class FakeSocket implements SocketLike {
  binaryType = 'blob';
  protocol = 'v2.bsatn.spacetimedb';
  readyState = 0;
  sent: protocol.ClientMessage[] = [];
  closed = false;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: URL, readonly token: string | undefined) {}

  send(data: Uint8Array): void {
    const r = new BinaryReader(data);
    while (r.remaining > 0) this.sent.push(protocol.clientMessageType.deserialize(r));
  }
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** Delivers `messages` as one uncompressed frame. */
  push(...messages: protocol.ServerMessage[]): void {
    for (const m of messages) {
      const body = encode(protocol.serverMessageType, m);
      const frame = new Uint8Array(body.length + 1);
      frame.set(body, 1);
      this.onmessage?.({ data: frame.buffer });
    }
  }
  /** The server drops the connection. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: 'gone' });
  }
}


/** Rows as a list of the given BSATN rows. */
export function rowList(rows: Uint8Array[]): protocol.BsatnRowList {
  const offsets: bigint[] = [];
  let len = 0;
  for (const r of rows) {
    offsets.push(BigInt(len));
    len += r.length;
  }
  const data = new Uint8Array(len);
  let at = 0;
  for (const r of rows) {
    data.set(r, at);
    at += r.length;
  }
  return { sizeHint: { tag: 'RowOffsets', value: offsets }, rowsData: data };
}

export const person = (p: Person): Uint8Array => encode(Person, p);
export const note = (text: string): Uint8Array => encode(Note, { text });

export function initialConnection(token = 'minted'): protocol.ServerMessage {
  return { tag: 'InitialConnection', value: { identity: IDENTITY, connectionId: new ConnectionId(7n), token } };
}

export function tx(querySetId: number, table: string, inserts: Uint8Array[], deletes: Uint8Array[]): protocol.TransactionUpdate {
  return {
    querySets: [{ querySetId, tables: [{ tableName: table, rows: [{ tag: 'PersistentTable', value: { inserts: rowList(inserts), deletes: rowList(deletes) } }] }] }],
  };
}

export function applied(querySetId: number, table: string, rows: Uint8Array[]): protocol.ServerMessage {
  return { tag: 'SubscribeApplied', value: { requestId: 0, querySetId, rows: { tables: [{ table, rows: rowList(rows) }] } } };
}

export const NOW = new Timestamp(1n);

/** A connection over fake sockets; `sockets` collects each socket it opens. */
export function connect(configure: (b: DbConnectionBuilder<Tables, Reducers, Conn>) => void = () => {}): { conn: Conn; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  const builder = new DbConnectionBuilder<Tables, Reducers, Conn>(MODULE, (config) => new Conn(config))
    .withUri('http://127.0.0.1:1')
    .withDatabaseName('db')
    .withSocketFactory(async (url, _protocols, token) => {
      const s = new FakeSocket(url, token);
      sockets.push(s);
      return s;
    });
  configure(builder);
  return { conn: builder.build(), sockets };
}

/** Waits until `cond` holds, polling the event loop, for at most `ms`. */
export async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
