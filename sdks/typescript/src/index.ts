/**
 * `spacetime-sdk`: the TypeScript client runtime under the bindings `spacetime generate
 * --lang typescript` writes. The generated `DbConnection.builder()` connects; `conn.db`
 * reads the client cache and registers row callbacks (views included, as read-only tables);
 * `conn.reducers` calls reducers and `conn.procedures` procedures, both returning promises;
 * `conn.subscriptionBuilder()` subscribes; `conn.query(sql)` runs one query once.
 *
 * # Brief overview
 * - {@link t} and {@link Type}: BSATN codecs for every SATS type (`algebraic.ts`, `bsatn.ts`);
 * - the v2/v3 protocol messages (`protocol.ts`);
 * - {@link ClientCache}: reference-counted rows, primary-key updates (`cache.ts`);
 * - {@link DbConnectionImpl} and {@link DbConnectionBuilder}: the connection's engine and its
 *   builder (`connection.ts`, `builder.ts`); the socket, subscribe URL and reconnect backoff
 *   (`transport.ts`);
 * - {@link TableHandle}, {@link SubscriptionHandle}: what the bindings expose.
 *
 * React hooks live in `spacetime-sdk/react`.
 */

export { BinaryReader, BinaryWriter, DecodeError, fromHex, toHex } from './bsatn.js';
export { decode, encode, t } from './algebraic.js';
export type { FieldDef, Infer, NestedOption, ProductType, Result, Type, Unit, VariantDef } from './algebraic.js';
export { ConnectionId, Identity, TimeDuration, Timestamp, Uuid } from './special.js';
export type { ScheduleAt } from './special.js';
export { ClientCache, PendingApply, TableCache } from './cache.js';
export type { RawChange, TableDef, TableDiff } from './cache.js';
export * as protocol from './protocol.js';
export type { Compression } from './protocol.js';
export { ConnectionError, InternalError, ProcedureError, QueryError, ReducerError } from './errors.js';
export { QueryResult } from './query.js';
export type { QueryTable } from './query.js';
export type { DbContext, ErrorContext, Event, EventContext, ReducerEvent, ReducerStatus, SubscriptionEventContext } from './event.js';
export { BtreeIndex, BtreePrefixIndex, Range, TableHandle, TableHandleWithUpdate, TableRuntime, UniqueIndex } from './table.js';
export type { Bound, Ordered } from './table.js';
export { SubscriptionBuilder, SubscriptionHandle } from './subscription.js';
export type { SubscriptionStatus } from './subscription.js';
export { DbConnectionImpl } from './connection.js';
export type { ConnectionConfig, RemoteModule } from './connection.js';
export { DbConnectionBuilder } from './builder.js';
export { DEFAULT_RECONNECT_POLICY, reconnectDelayMs, subscribeUrl } from './transport.js';
export type { ReconnectPolicy, SocketFactory, SocketLike } from './transport.js';
