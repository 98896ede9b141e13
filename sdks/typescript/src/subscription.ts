/**
 * Subscriptions: a {@link SubscriptionBuilder} collects the callbacks and sends the queries;
 * the {@link SubscriptionHandle} it returns tells whether the subscription is live and ends
 * it. Each subscription is one query set on the server.
 */

import type { ErrorContext, SubscriptionEventContext } from './event.js';

/** Where a subscription is in its life. */
export type SubscriptionStatus = 'pending' | 'sent' | 'applied' | 'ended';

/** @internal The state the connection keeps per subscription. */
export interface SubscriptionState<DB, Reducers, Procedures = unknown> {
  readonly querySetId: number;
  readonly queries: string[];
  status: SubscriptionStatus;
  unsubscribeRequested: boolean;
  onApplied: ((ctx: SubscriptionEventContext<DB, Reducers, Procedures>) => void) | undefined;
  onError: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void) | undefined;
  onEnded: ((ctx: SubscriptionEventContext<DB, Reducers, Procedures>) => void) | undefined;
}

/** @internal What a subscription needs of its connection. */
export interface SubscriptionHost<DB, Reducers, Procedures = unknown> {
  /** The table names the bindings know, for `subscribeToAllTables`. */
  readonly tableNames: readonly string[];
  startSubscription(queries: string[], state: Omit<SubscriptionState<DB, Reducers, Procedures>, 'querySetId' | 'queries' | 'status' | 'unsubscribeRequested'>): SubscriptionState<DB, Reducers, Procedures>;
  requestUnsubscribe(state: SubscriptionState<DB, Reducers, Procedures>): void;
}

/** Sets up a subscription: `conn.subscriptionBuilder().onApplied(cb).subscribe(['SELECT * FROM user'])`. */
export class SubscriptionBuilder<DB, Reducers, Procedures = unknown> {
  private applied: ((ctx: SubscriptionEventContext<DB, Reducers, Procedures>) => void) | undefined;
  private error: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void) | undefined;

  /** @internal */
  constructor(private readonly host: SubscriptionHost<DB, Reducers, Procedures>) {}

  /** Runs `cb` once the initial rows are in the cache (after their `onInsert` callbacks). */
  onApplied(cb: (ctx: SubscriptionEventContext<DB, Reducers, Procedures>) => void): this {
    this.applied = cb;
    return this;
  }

  /** Runs `cb` if the server rejects the queries, or a live subscription fails later. */
  onError(cb: (ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void): this {
    this.error = cb;
    return this;
  }

  /**
   * Subscribes to the rows matching `queries` (SQL `SELECT`s), as one query set.
   *
   * @throws {TypeError} if no query is given.
   */
  subscribe(queries: string | readonly string[]): SubscriptionHandle<DB, Reducers, Procedures> {
    const list = typeof queries === 'string' ? [queries] : [...queries];
    if (list.length === 0) throw new TypeError('subscribe needs at least one query, e.g. "SELECT * FROM user"');
    const state = this.host.startSubscription(list, { onApplied: this.applied, onError: this.error, onEnded: undefined });
    return new SubscriptionHandle(this.host, state);
  }

  /** Subscribes to every row of every table the bindings know. */
  subscribeToAllTables(): SubscriptionHandle<DB, Reducers, Procedures> {
    return this.subscribe(this.host.tableNames.map((name) => `SELECT * FROM ${quoteIdent(name)}`));
  }
}

/** An identifier in SQL, quoted when it is not a plain lower-case name. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A live (or ended) subscription. */
export class SubscriptionHandle<DB, Reducers, Procedures = unknown> {
  /** @internal */
  constructor(
    private readonly host: SubscriptionHost<DB, Reducers, Procedures>,
    private readonly state: SubscriptionState<DB, Reducers, Procedures>,
  ) {}

  /** The queries of this subscription. */
  get queries(): readonly string[] {
    return this.state.queries;
  }

  /** Whether the initial rows arrived and the subscription has not ended. */
  isActive(): boolean {
    return this.state.status === 'applied' && !this.state.unsubscribeRequested;
  }

  /** Whether the subscription ended (unsubscribed, failed, or cancelled before it was sent). */
  isEnded(): boolean {
    return this.state.status === 'ended';
  }

  /**
   * Ends the subscription: its rows leave the cache (firing `onDelete`) unless another
   * subscription holds them too.
   *
   * @throws {Error} if it already ended or `unsubscribe` was already called.
   */
  unsubscribe(): void {
    if (this.state.status === 'ended' || this.state.unsubscribeRequested) {
      throw new Error(`the subscription to ${this.state.queries.join('; ')} already ended or is ending; unsubscribe only once`);
    }
    this.host.requestUnsubscribe(this.state);
  }

  /** As {@link unsubscribe}, then runs `cb` once the rows have left the cache. */
  unsubscribeThen(cb: (ctx: SubscriptionEventContext<DB, Reducers, Procedures>) => void): void {
    this.state.onEnded = cb;
    this.unsubscribe();
  }
}
