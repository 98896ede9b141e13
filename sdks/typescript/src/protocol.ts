/**
 * The v2 WebSocket protocol's messages as TypeScript types, with their BSATN codec
 * (described with the {@link t} combinators), the v3 framing (several client messages per
 * frame, several server messages per frame) and the server's compression envelope.
 *
 * Nothing here touches a socket: `connection.ts` owns the I/O.
 */

import { BinaryReader, BinaryWriter, DecodeError } from './bsatn.js';
import { Result, t, Type } from './algebraic.js';
import { ConnectionId, Identity, TimeDuration, Timestamp } from './special.js';

/** How the rows of a {@link BsatnRowList} are cut: all the same size, or at these offsets. */
export type RowSizeHint = { tag: 'FixedSize'; value: number } | { tag: 'RowOffsets'; value: bigint[] };
/** Rows as BSATN, back to back. */
export interface BsatnRowList {
  sizeHint: RowSizeHint;
  rowsData: Uint8Array;
}
/** The rows of one table. */
export interface SingleTableRows {
  table: string;
  rows: BsatnRowList;
}
/** Rows grouped by table. */
export interface QueryRows {
  tables: SingleTableRows[];
}
/** Inserted and deleted rows of a stored table, or the rows of an event table. */
export type TableUpdateRows =
  | { tag: 'PersistentTable'; value: { inserts: BsatnRowList; deletes: BsatnRowList } }
  | { tag: 'EventTable'; value: { events: BsatnRowList } };
/** What changed in one table for one query set. */
export interface TableUpdate {
  tableName: string;
  rows: TableUpdateRows[];
}
/** What changed for one query set. */
export interface QuerySetUpdate {
  querySetId: number;
  tables: TableUpdate[];
}
/** What one transaction changed, per query set. */
export interface TransactionUpdate {
  querySets: QuerySetUpdate[];
}
/** How a reducer call ended. */
export type ReducerOutcome =
  | { tag: 'Ok'; value: { retValue: Uint8Array; transactionUpdate: TransactionUpdate } }
  | { tag: 'OkEmpty' }
  | { tag: 'Err'; value: Uint8Array }
  | { tag: 'InternalError'; value: string };
/** How a procedure call ended. */
export type ProcedureStatus = { tag: 'Returned'; value: Uint8Array } | { tag: 'InternalError'; value: string };

/** A message from the client. */
export type ClientMessage =
  | { tag: 'Subscribe'; value: { requestId: number; querySetId: number; queryStrings: string[] } }
  | { tag: 'Unsubscribe'; value: { requestId: number; querySetId: number; flags: { tag: 'Default' } | { tag: 'SendDroppedRows' } } }
  | { tag: 'OneOffQuery'; value: { requestId: number; queryString: string } }
  | { tag: 'CallReducer'; value: { requestId: number; flags: number; reducer: string; args: Uint8Array } }
  | { tag: 'CallProcedure'; value: { requestId: number; flags: number; procedure: string; args: Uint8Array } };

/** A message from the server. */
export type ServerMessage =
  | { tag: 'InitialConnection'; value: { identity: Identity; connectionId: ConnectionId; token: string } }
  | { tag: 'SubscribeApplied'; value: { requestId: number; querySetId: number; rows: QueryRows } }
  | { tag: 'UnsubscribeApplied'; value: { requestId: number; querySetId: number; rows: QueryRows | undefined } }
  | { tag: 'SubscriptionError'; value: { requestId: number | undefined; querySetId: number; error: string } }
  | { tag: 'TransactionUpdate'; value: TransactionUpdate }
  | { tag: 'OneOffQueryResult'; value: { requestId: number; result: Result<QueryRows, string> } }
  | { tag: 'ReducerResult'; value: { requestId: number; timestamp: Timestamp; result: ReducerOutcome } }
  | {
      tag: 'ProcedureResult';
      value: { status: ProcedureStatus; timestamp: Timestamp; totalHostExecutionDuration: TimeDuration; requestId: number };
    };

const u32 = t.u32();
// `QuerySetId { id: u32 }` is a one-field product: on the wire, just the u32.
const querySetId = u32;

const rowSizeHint = t.sum<RowSizeHint>('RowSizeHint', [
  ['FixedSize', t.u16()],
  ['RowOffsets', t.array(t.u64())],
]);
const rowList = t.product<BsatnRowList>('BsatnRowList', [
  ['sizeHint', rowSizeHint],
  ['rowsData', t.bytes()],
]);
const queryRows = t.product<QueryRows>('QueryRows', [
  ['tables', t.array(t.product<SingleTableRows>('SingleTableRows', [['table', t.string()], ['rows', rowList]]))],
]);
const tableUpdateRows = t.sum<TableUpdateRows>('TableUpdateRows', [
  ['PersistentTable', t.product('PersistentTableRows', [['inserts', rowList], ['deletes', rowList]])],
  ['EventTable', t.product('EventTableRows', [['events', rowList]])],
]);
const tableUpdate = t.product<TableUpdate>('TableUpdate', [
  ['tableName', t.string()],
  ['rows', t.array(tableUpdateRows)],
]);
const transactionUpdate = t.product<TransactionUpdate>('TransactionUpdate', [
  ['querySets', t.array(t.product<QuerySetUpdate>('QuerySetUpdate', [['querySetId', querySetId], ['tables', t.array(tableUpdate)]]))],
]);
const reducerOutcome = t.sum<ReducerOutcome>('ReducerOutcome', [
  ['Ok', t.product('ReducerOk', [['retValue', t.bytes()], ['transactionUpdate', transactionUpdate]])],
  ['OkEmpty', null],
  ['Err', t.bytes()],
  ['InternalError', t.string()],
]);

/** The codec of {@link ClientMessage}. */
export const clientMessageType: Type<ClientMessage> = t.sum<ClientMessage>('ClientMessage', [
  ['Subscribe', t.product('Subscribe', [['requestId', u32], ['querySetId', querySetId], ['queryStrings', t.array(t.string())]])],
  [
    'Unsubscribe',
    t.product('Unsubscribe', [
      ['requestId', u32],
      ['querySetId', querySetId],
      ['flags', t.sum('UnsubscribeFlags', [['Default', null], ['SendDroppedRows', null]])],
    ]),
  ],
  ['OneOffQuery', t.product('OneOffQuery', [['requestId', u32], ['queryString', t.string()]])],
  ['CallReducer', t.product('CallReducer', [['requestId', u32], ['flags', t.u8()], ['reducer', t.string()], ['args', t.bytes()]])],
  ['CallProcedure', t.product('CallProcedure', [['requestId', u32], ['flags', t.u8()], ['procedure', t.string()], ['args', t.bytes()]])],
]);

/** The codec of {@link ServerMessage}. */
export const serverMessageType: Type<ServerMessage> = t.sum<ServerMessage>('ServerMessage', [
  ['InitialConnection', t.product('InitialConnection', [['identity', t.identity()], ['connectionId', t.connectionId()], ['token', t.string()]])],
  ['SubscribeApplied', t.product('SubscribeApplied', [['requestId', u32], ['querySetId', querySetId], ['rows', queryRows]])],
  ['UnsubscribeApplied', t.product('UnsubscribeApplied', [['requestId', u32], ['querySetId', querySetId], ['rows', t.option(queryRows)]])],
  ['SubscriptionError', t.product('SubscriptionError', [['requestId', t.option(u32)], ['querySetId', querySetId], ['error', t.string()]])],
  ['TransactionUpdate', transactionUpdate],
  ['OneOffQueryResult', t.product('OneOffQueryResult', [['requestId', u32], ['result', t.result(queryRows, t.string())]])],
  ['ReducerResult', t.product('ReducerResult', [['requestId', u32], ['timestamp', t.timestamp()], ['result', reducerOutcome]])],
  [
    'ProcedureResult',
    t.product('ProcedureResult', [
      ['status', t.sum('ProcedureStatus', [['Returned', t.bytes()], ['InternalError', t.string()]])],
      ['timestamp', t.timestamp()],
      ['totalHostExecutionDuration', t.timeDuration()],
      ['requestId', u32],
    ]),
  ],
]);

/** Encodes client messages back to back: one message is a v2 frame, several a v3 frame. */
export function encodeClientMessages(messages: readonly ClientMessage[]): Uint8Array {
  const w = new BinaryWriter();
  for (const m of messages) clientMessageType.serialize(w, m);
  return w.toBytes();
}

/**
 * Decodes every server message in an uncompressed frame body: exactly one under v2,
 * one or more under v3.
 *
 * @throws {DecodeError} if the body is empty or not a sequence of whole messages.
 */
export function decodeServerMessages(body: Uint8Array, framing: 'v2' | 'v3'): ServerMessage[] {
  if (body.length === 0) throw new DecodeError('the server sent an empty message');
  const r = new BinaryReader(body);
  const out: ServerMessage[] = [];
  do {
    out.push(serverMessageType.deserialize(r));
  } while (framing === 'v3' && r.remaining > 0);
  if (r.remaining > 0) throw new DecodeError(`${r.remaining} bytes follow the server's message in a v2 frame`);
  return out;
}

/** The rows of a {@link BsatnRowList}, each as its own BSATN bytes. */
export function splitRows(list: BsatnRowList): Uint8Array[] {
  const data = list.rowsData;
  const rows: Uint8Array[] = [];
  if (list.sizeHint.tag === 'FixedSize') {
    const size = list.sizeHint.value;
    if (size === 0) {
      if (data.length !== 0) throw new DecodeError('a row list of zero-sized rows has data');
      return rows;
    }
    if (data.length % size !== 0) {
      throw new DecodeError(`a row list of ${size}-byte rows has ${data.length} bytes, not a multiple of ${size}`);
    }
    for (let at = 0; at < data.length; at += size) rows.push(data.subarray(at, at + size));
    return rows;
  }
  const offsets = list.sizeHint.value.map(Number);
  for (let i = 0; i < offsets.length; i++) {
    const start = offsets[i]!;
    const end = i + 1 < offsets.length ? offsets[i + 1]! : data.length;
    if (start > end || end > data.length) {
      throw new DecodeError(`row offset ${start} is out of order or past the end of the data (${data.length} bytes)`);
    }
    rows.push(data.subarray(start, end));
  }
  return rows;
}

/** The compression a client may ask the server for. */
export type Compression = 'none' | 'gzip' | 'brotli';

/** The value of the `compression=` query parameter for `c`. */
export function compressionQueryValue(c: Compression): string {
  return c === 'none' ? 'None' : c === 'gzip' ? 'Gzip' : 'Brotli';
}

/** Decompresses a body; given by the connection, as the means differ between Node and browsers. */
export type Decompressor = (algorithm: 'gzip' | 'brotli', body: Uint8Array) => Promise<Uint8Array>;

/**
 * Takes off the server's envelope: a tag byte (0 none, 1 brotli, 2 gzip), then the body.
 *
 * @throws {DecodeError} for an empty payload or an unknown tag.
 */
export async function unwrapEnvelope(payload: Uint8Array, decompress: Decompressor): Promise<Uint8Array> {
  if (payload.length === 0) throw new DecodeError('the server sent an empty frame (no compression tag)');
  const body = payload.subarray(1);
  switch (payload[0]) {
    case 0:
      return body;
    case 1:
      return decompress('brotli', body);
    case 2:
      return decompress('gzip', body);
    default:
      throw new DecodeError(`unknown compression tag ${payload[0]} (expected 0 none, 1 brotli or 2 gzip)`);
  }
}
