/**
 * What callbacks are told: the {@link Event} that caused a row change, and the context
 * objects every callback receives, which give access to the cache (`db`), the reducers and
 * the connection.
 */

import type { QueryResult } from './query.js';
import type { ConnectionId, Identity, Timestamp } from './special.js';
import type { SubscriptionBuilder } from './subscription.js';

/** How a reducer call ended. */
export type ReducerStatus = { tag: 'Committed' } | { tag: 'Err'; value: string } | { tag: 'InternalError'; value: string };

/** A reducer this client called, with its outcome. */
export interface ReducerEvent {
  /** When the reducer ran. */
  readonly timestamp: Timestamp;
  /** How it ended. */
  readonly status: ReducerStatus;
  /** Which reducer, by wire name, and the arguments it was called with. */
  readonly reducer: { readonly name: string; readonly args: unknown };
}

/**
 * Why rows changed: this client's own reducer, a subscription's initial rows or their end,
 * a subscription error, or another client's (or a scheduled) transaction.
 */
export type Event =
  | { tag: 'Reducer'; value: ReducerEvent }
  | { tag: 'SubscribeApplied' }
  | { tag: 'UnsubscribeApplied' }
  | { tag: 'SubscribeError'; value: Error }
  | { tag: 'Transaction' };

/** What every context offers: the cache, the reducers, the procedures, and the connection. */
export interface DbContext<DB, Reducers, Procedures = unknown> {
  /** The client cache, table by table. */
  readonly db: DB;
  /** The module's reducers. */
  readonly reducers: Reducers;
  /** The module's procedures (each call returns a promise of the procedure's value). */
  readonly procedures: Procedures;
  /** Whether the connection is open (or reconnecting). */
  readonly isActive: boolean;
  /** This client's identity, once connected. */
  readonly identity: Identity | undefined;
  /** This connection's id, once connected. */
  readonly connectionId: ConnectionId | undefined;
  /** Closes the connection; `onDisconnect` runs without an error. */
  disconnect(): void;
  /** Starts a new subscription. */
  subscriptionBuilder(): SubscriptionBuilder<DB, Reducers, Procedures>;
  /** Runs `sql` once without subscribing (see `DbConnectionImpl.query`). */
  query(sql: string): Promise<QueryResult>;
}

/** The context of a row callback. */
export interface EventContext<DB, Reducers, Procedures = unknown> extends DbContext<DB, Reducers, Procedures> {
  /** Why the row changed. */
  readonly event: Event;
}

/** The context of a subscription's `onApplied` and `unsubscribeThen` callbacks. */
export type SubscriptionEventContext<DB, Reducers, Procedures = unknown> = DbContext<DB, Reducers, Procedures>;

/** The context of an error or disconnect callback. */
export interface ErrorContext<DB, Reducers, Procedures = unknown> extends DbContext<DB, Reducers, Procedures> {
  /** What went wrong, if anything did. */
  readonly error: Error | undefined;
}
