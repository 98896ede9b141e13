/**
 * The connection's engine: it owns the client cache, the callback registries, the
 * subscriptions and the pending reducer calls, and turns server messages into cache changes
 * and callbacks. The socket, the subscribe URL and reconnect backoff are the
 * {@link Transport}'s (`transport.ts`).
 *
 * Lifecycle: connecting → connected when `InitialConnection` arrives → ended. An error or
 * close before `InitialConnection` runs `onConnectError`; after it, `onDisconnect` (with no
 * error after {@link DbConnectionImpl.disconnect}). With a {@link ReconnectPolicy}, a lost
 * connection is re-opened with backoff as the same identity; every live subscription is
 * sent again into a fresh cache, and once all are applied the difference to the old cache
 * is reported as row callbacks, so only real changes fire.
 *
 * Each message is applied to the cache as a whole before any callback runs, and a reducer's
 * own row callbacks run before its promise settles.
 */

import { decode, encode, t, Type } from './algebraic.js';
import { ClientCache, PendingApply, TableDef, TableDiff } from './cache.js';
import { ConnectionError, describe, InternalError, ProcedureError, QueryError, ReducerError } from './errors.js';
import type { DbContext, ErrorContext, Event, EventContext } from './event.js';
import { ClientMessage, QueryRows, ServerMessage, TransactionUpdate } from './protocol.js';
import { QueryResult } from './query.js';
import { ConnectionId, Identity } from './special.js';
import { SubscriptionBuilder, SubscriptionHost, SubscriptionState } from './subscription.js';
import { TableRuntime } from './table.js';
import { ReconnectPolicy, SocketFactory, Transport } from './transport.js';

export type { ReconnectPolicy } from './transport.js';

/** What generated bindings tell the runtime about a module. */
export interface RemoteModule<DB, Reducers, Procedures = unknown> {
  /** Every table the bindings know. */
  readonly tables: readonly TableDef<unknown>[];
  /** Builds `conn.db`. */
  createTables(conn: DbConnectionImpl<DB, Reducers, Procedures>): DB;
  /** Builds `conn.reducers`. */
  createReducers(conn: DbConnectionImpl<DB, Reducers, Procedures>): Reducers;
  /** Builds `conn.procedures` (absent for bindings without procedures). */
  createProcedures?(conn: DbConnectionImpl<DB, Reducers, Procedures>): Procedures;
}

/** @internal Everything the builder collected. */
export interface ConnectionConfig<DB, Reducers, Procedures = unknown> {
  module: RemoteModule<DB, Reducers, Procedures>;
  /** The subscribe URL (`subscribeUrl` in `transport.ts`). */
  url: string;
  token: string | undefined;
  reconnect: ReconnectPolicy | undefined;
  socketFactory: SocketFactory;
  onConnect: ((conn: DbConnectionImpl<DB, Reducers, Procedures>, identity: Identity, token: string) => void) | undefined;
  onConnectError: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void) | undefined;
  onDisconnect: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error | undefined) => void) | undefined;
  onReconnect: ((conn: DbConnectionImpl<DB, Reducers, Procedures>, identity: Identity, token: string) => void) | undefined;
}

type Lifecycle = 'connecting' | 'connected' | 'reconnecting' | 'ended';

interface PendingCall {
  name: string;
  args: unknown;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A procedure call or one-off query waiting for its answer. */
interface PendingRequest<T> {
  /** What it is, for error messages: ``procedure `add` `` or `one-off query`. */
  what: string;
  resolve: (value: T) => void;
  reject: (e: Error) => void;
}

/** A resubscription in progress after a reconnect. */
interface Resync {
  cache: ClientCache;
  awaiting: Set<number>;
  newlyApplied: (() => void)[];
}

const STRING = t.string();

/**
 * A connection to a database. Generated bindings subclass it as `DbConnection`, whose
 * `builder()` makes one; `db` and `reducers` are typed by the bindings.
 */
export class DbConnectionImpl<DB, Reducers, Procedures = unknown>
  implements DbContext<DB, Reducers, Procedures>, SubscriptionHost<DB, Reducers, Procedures>
{
  /** The client cache, table by table. */
  readonly db: DB;
  /** The module's reducers. */
  readonly reducers: Reducers;
  /** The module's procedures: each call returns a promise of the procedure's value. */
  readonly procedures: Procedures;
  /** This client's identity, once connected. */
  identity: Identity | undefined;
  /** This connection's id, once connected. */
  connectionId: ConnectionId | undefined;
  /** The token this client authenticates with: the one given, or the one the server minted. */
  token: string | undefined;

  private readonly config: ConnectionConfig<DB, Reducers, Procedures>;
  private readonly cache: ClientCache;
  private readonly runtimes = new Map<string, TableRuntime<unknown>>();
  private lifecycle: Lifecycle = 'connecting';
  private readonly transport: Transport;
  private nextRequestId = 1;
  private nextQuerySetId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly procedureCalls = new Map<number, PendingRequest<Uint8Array> & { procedure: string }>();
  private readonly queries = new Map<number, PendingRequest<QueryRows>>();
  private readonly subscriptions = new Map<number, SubscriptionState<DB, Reducers, Procedures>>();
  private resync: Resync | undefined;
  /** The query sets to send again once a lost connection is back. */
  private toResubscribe: number[] = [];
  private everConnected = false;

  /** @internal Use the generated `DbConnection.builder()`. */
  constructor(config: ConnectionConfig<DB, Reducers, Procedures>) {
    this.config = config;
    this.token = config.token;
    this.cache = new ClientCache(config.module.tables);
    for (const def of config.module.tables) {
      const cache = this.cache.table(def.name);
      if (cache !== undefined) this.runtimes.set(def.name, new TableRuntime(def, cache));
    }
    this.db = config.module.createTables(this);
    this.reducers = config.module.createReducers(this);
    // Bindings without procedures have no factory; their `procedures` is never read.
    this.procedures = config.module.createProcedures?.(this) as Procedures;
    this.transport = new Transport(
      { url: config.url, socketFactory: config.socketFactory, reconnect: config.reconnect, token: () => this.token },
      {
        opened: (queued) => {
          for (const m of queued) if (m.tag === 'Subscribe') this.markSent(m.value.querySetId);
        },
        message: (message) => this.handleMessage(message),
        closed: (error, willRetry) => this.onTransportClosed(error, willRetry),
      },
    );
    // Open after the subclass constructor has run, so callbacks see a finished object.
    queueMicrotask(() => this.transport.start());
  }

  /** Whether the connection is open or being re-established. */
  get isActive(): boolean {
    return this.lifecycle === 'connected' || this.lifecycle === 'reconnecting';
  }

  /** The table names the bindings know. */
  get tableNames(): readonly string[] {
    return this.config.module.tables.map((d) => d.name);
  }

  /** Starts a new subscription. */
  subscriptionBuilder(): SubscriptionBuilder<DB, Reducers, Procedures> {
    return new SubscriptionBuilder(this);
  }

  /** Closes the connection; `onDisconnect` runs without an error. Calls still waiting for results are rejected. */
  disconnect(): void {
    if (this.lifecycle === 'ended') return;
    this.transport.close();
  }

  /** @internal The runtime side of table `def`, for generated table handles. */
  tableRuntime<Row>(def: TableDef<Row>): TableRuntime<Row> {
    const runtime = this.runtimes.get(def.name);
    if (runtime === undefined) throw new Error(`table \`${def.name}\` is not part of this module's bindings`);
    return runtime as unknown as TableRuntime<Row>;
  }

  /**
   * @internal Calls reducer `name` (its wire name) with `args`; generated reducer methods use it.
   * The promise resolves once the reducer committed and its row changes were applied and
   * reported, and rejects with a {@link ReducerError} if the reducer returned an error, or an
   * {@link InternalError} if the host could not run it or the connection ended first.
   */
  callReducer<A>(name: string, argsType: Type<A>, args: A): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encode(argsType, args);
    } catch (e) {
      return Promise.reject(new TypeError(`invalid arguments for reducer \`${name}\`: ${describe(e)}`));
    }
    if (this.lifecycle === 'ended') {
      return Promise.reject(new InternalError(`cannot call reducer \`${name}\`: the connection has ended`));
    }
    const requestId = this.nextRequestId++;
    return new Promise<void>((resolve, reject) => {
      this.calls.set(requestId, { name, args, resolve, reject });
      this.send({ tag: 'CallReducer', value: { requestId, flags: 0, reducer: name, args: bytes } });
    });
  }

  /**
   * @internal Calls procedure `name` (its wire name) with `args`; generated procedure methods
   * use it. The promise resolves with the value it returned, decoded with `returnType`, and
   * rejects with a {@link ProcedureError} carrying the host's message if it failed, or an
   * {@link InternalError} if the connection ended before it returned.
   */
  callProcedure<A, R>(name: string, argsType: Type<A>, args: A, returnType: Type<R>): Promise<R> {
    let bytes: Uint8Array;
    try {
      bytes = encode(argsType, args);
    } catch (e) {
      return Promise.reject(new TypeError(`invalid arguments for procedure \`${name}\`: ${describe(e)}`));
    }
    if (this.lifecycle === 'ended') {
      return Promise.reject(new InternalError(`cannot call procedure \`${name}\`: the connection has ended`));
    }
    const requestId = this.nextRequestId++;
    const returned = new Promise<Uint8Array>((resolve, reject) => {
      this.procedureCalls.set(requestId, { what: `procedure \`${name}\``, procedure: name, resolve, reject });
      this.send({ tag: 'CallProcedure', value: { requestId, flags: 0, procedure: name, args: bytes } });
    });
    return returned.then((value) => {
      try {
        return decode(returnType, value);
      } catch (e) {
        throw new InternalError(
          `cannot decode the value procedure \`${name}\` returned: ${describe(e)}; the bindings are probably out of date: re-run \`spacetime generate\``,
        );
      }
    });
  }

  /**
   * Runs `sql` (one `SELECT`, over tables or views) once, without subscribing. The promise
   * resolves with the matching rows, decoded into each table's row type when the bindings
   * know the table (`(await conn.query(sql)).rowsOf(playerTable)`), raw otherwise; it
   * rejects with a {@link QueryError} if the server refused the query, or an
   * {@link InternalError} if the connection ended first. The rows do not enter the client
   * cache and fire no callbacks.
   */
  query(sql: string): Promise<QueryResult> {
    if (this.lifecycle === 'ended') {
      return Promise.reject(new InternalError('cannot run a one-off query: the connection has ended'));
    }
    const requestId = this.nextRequestId++;
    const rows = new Promise<QueryRows>((resolve, reject) => {
      this.queries.set(requestId, { what: 'one-off query', resolve, reject });
      this.send({ tag: 'OneOffQuery', value: { requestId, queryString: sql } });
    });
    return rows.then((r) => new QueryResult(sql, r, this.config.module.tables));
  }

  // --- subscriptions (SubscriptionHost) -------------------------------------------------

  /** @internal */
  startSubscription(
    queries: string[],
    callbacks: Pick<SubscriptionState<DB, Reducers, Procedures>, 'onApplied' | 'onError' | 'onEnded'>,
  ): SubscriptionState<DB, Reducers, Procedures> {
    const state: SubscriptionState<DB, Reducers, Procedures> = {
      querySetId: this.nextQuerySetId++,
      queries,
      status: 'pending',
      unsubscribeRequested: false,
      ...callbacks,
    };
    if (this.lifecycle === 'ended') {
      state.status = 'ended';
      return state;
    }
    this.subscriptions.set(state.querySetId, state);
    this.sendSubscribe(state);
    return state;
  }

  /** @internal */
  requestUnsubscribe(state: SubscriptionState<DB, Reducers, Procedures>): void {
    state.unsubscribeRequested = true;
    if (state.status === 'pending') {
      // Never sent: cancel it locally.
      this.transport.unqueue((m) => m.tag === 'Subscribe' && m.value.querySetId === state.querySetId);
      this.endSubscription(state);
    } else if (state.status === 'applied') {
      this.send({
        tag: 'Unsubscribe',
        value: { requestId: this.nextRequestId++, querySetId: state.querySetId, flags: { tag: 'SendDroppedRows' } },
      });
    }
    // 'sent': the unsubscribe goes out once the rows have arrived (see onSubscribeApplied).
  }

  private sendSubscribe(state: SubscriptionState<DB, Reducers, Procedures>): void {
    this.send({ tag: 'Subscribe', value: { requestId: this.nextRequestId++, querySetId: state.querySetId, queryStrings: state.queries } });
    if (this.transport.isOpen) this.markSent(state.querySetId);
  }

  private endSubscription(state: SubscriptionState<DB, Reducers, Procedures>): void {
    state.status = 'ended';
    this.subscriptions.delete(state.querySetId);
  }

  // --- the transport ---------------------------------------------------------------

  private markSent(querySetId: number): void {
    const state = this.subscriptions.get(querySetId);
    if (state !== undefined && state.status === 'pending') state.status = 'sent';
  }

  private send(message: ClientMessage): void {
    this.transport.send(message);
  }

  private onTransportClosed(error: Error | undefined, willRetry: boolean): void {
    if (this.lifecycle === 'ended') return;
    if (!willRetry) {
      this.end(error);
      return;
    }
    // The lost socket was live (the connection, or the resubscription after a reconnect):
    // what was sent on it must be settled and sent again. A later failed attempt changes nothing.
    if (this.lifecycle === 'connected' || this.resync !== undefined) {
      this.failCalls('the connection was lost before the reducer\'s result arrived; it may or may not have run');
      this.failRequests('was lost');
      this.planResubscription();
    }
    this.lifecycle = 'reconnecting';
    this.resync = undefined;
  }

  private end(error: Error | undefined): void {
    const was = this.lifecycle;
    if (was === 'ended') return;
    this.lifecycle = 'ended';
    this.resync = undefined;
    this.transport.stop();
    this.failCalls('the connection ended before the reducer\'s result arrived; it may or may not have run');
    this.failRequests('ended');
    for (const state of this.subscriptions.values()) state.status = 'ended';
    this.subscriptions.clear();
    if (was === 'connecting' && !this.everConnected) {
      const err = error ?? new ConnectionError('the connection closed before the server\'s initial connection message');
      const cb = this.config.onConnectError;
      if (cb !== undefined) this.guard('onConnectError', () => cb(this.errorContext(err), err));
      else console.error(`spacetime-sdk: failed to connect: ${err.message}`);
    } else {
      const cb = this.config.onDisconnect;
      if (cb !== undefined) this.guard('onDisconnect', () => cb(this.errorContext(error), error));
    }
  }

  private failCalls(message: string): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(new InternalError(`reducer \`${call.name}\`: ${message}`));
  }

  /** Rejects every procedure call and one-off query still waiting: the connection `how` (ended, was lost). */
  private failRequests(how: string): void {
    const waiting: PendingRequest<never>[] = [...this.procedureCalls.values(), ...this.queries.values()];
    this.procedureCalls.clear();
    this.queries.clear();
    for (const request of waiting) {
      request.reject(new InternalError(`${request.what}: the connection ${how} before the answer arrived`));
    }
  }

  // --- messages -----------------------------------------------------------------------

  private handleMessage(message: ServerMessage): void {
    switch (message.tag) {
      case 'InitialConnection':
        return this.onInitialConnection(message.value.identity, message.value.connectionId, message.value.token);
      case 'SubscribeApplied':
        return this.onSubscribeApplied(message.value.querySetId, message.value.rows);
      case 'UnsubscribeApplied':
        return this.onUnsubscribeApplied(message.value.querySetId);
      case 'SubscriptionError':
        return this.onSubscriptionError(message.value.querySetId, message.value.error);
      case 'TransactionUpdate':
        return this.applyTransaction(message.value, { tag: 'Transaction' });
      case 'ReducerResult':
        return this.onReducerResult(message.value);
      case 'OneOffQueryResult':
        return this.onOneOffQueryResult(message.value);
      case 'ProcedureResult':
        return this.onProcedureResult(message.value);
    }
  }

  private onInitialConnection(identity: Identity, connectionId: ConnectionId, token: string): void {
    if (this.identity !== undefined && !this.identity.isEqual(identity)) {
      console.warn(`spacetime-sdk: the server assigned a different identity after reconnecting: ${identity.toHexString()}`);
    }
    this.identity = identity;
    this.connectionId = connectionId;
    // Keep the token we have (the server echoes it, or a short-lived copy); adopt a minted one.
    this.token ??= token;
    this.everConnected = true;
    this.transport.accepted();
    if (this.lifecycle === 'reconnecting') {
      // Stays 'reconnecting' until every subscription is back (finishResync).
      this.beginResync();
      return;
    }
    this.lifecycle = 'connected';
    const cb = this.config.onConnect;
    if (cb !== undefined) this.guard('onConnect', () => cb(this, identity, this.token ?? token));
  }

  /**
   * Right after a connection is lost: decides which query sets the next connection must
   * send again, ends those whose unsubscribe died with the old connection, and queues the
   * subscriptions that were never sent.
   */
  private planResubscription(): void {
    this.toResubscribe = [];
    for (const state of [...this.subscriptions.values()].sort((a, b) => a.querySetId - b.querySetId)) {
      if (state.status === 'pending') {
        this.sendSubscribe(state);
      } else if (state.unsubscribeRequested) {
        // The new connection never had it, so it is over.
        this.endSubscription(state);
        const cb = state.onEnded;
        if (cb !== undefined) this.guard('unsubscribeThen', () => cb(this));
      } else {
        this.toResubscribe.push(state.querySetId);
      }
    }
  }

  private beginResync(): void {
    const resync: Resync = { cache: new ClientCache(this.config.module.tables), awaiting: new Set(), newlyApplied: [] };
    this.resync = resync;
    for (const id of this.toResubscribe) {
      const state = this.subscriptions.get(id);
      if (state === undefined) continue;
      this.send({ tag: 'Subscribe', value: { requestId: this.nextRequestId++, querySetId: id, queryStrings: state.queries } });
      resync.awaiting.add(id);
    }
    this.toResubscribe = [];
    if (resync.awaiting.size === 0) this.finishResync();
  }

  private finishResync(): void {
    const resync = this.resync;
    if (resync === undefined) return;
    this.resync = undefined;
    this.lifecycle = 'connected';
    const diffs = this.cache.replaceWith(resync.cache);
    this.runRowCallbacks(diffs, { tag: 'SubscribeApplied' });
    for (const run of resync.newlyApplied) run();
    const cb = this.config.onReconnect;
    if (cb !== undefined && this.identity !== undefined) {
      const identity = this.identity;
      this.guard('onReconnect', () => cb(this, identity, this.token ?? ''));
    }
  }

  /** The cache messages apply to right now: the fresh one while resubscribing. */
  private activeCache(): ClientCache {
    return this.resync?.cache ?? this.cache;
  }

  private onSubscribeApplied(querySetId: number, rows: QueryRows): void {
    const state = this.subscriptions.get(querySetId);
    if (state === undefined) return;
    const resync = this.resync;
    if (resync !== undefined) {
      // The cache is being rebuilt: these rows go into the new one, reported as a whole at the end.
      const pending = new PendingApply();
      resync.cache.collectApplied(pending, querySetId, rows);
      resync.cache.apply(pending);
      if (state.status !== 'applied') {
        state.status = 'applied';
        resync.newlyApplied.push(() => this.afterApplied(state));
      }
      resync.awaiting.delete(querySetId);
      if (resync.awaiting.size === 0) this.finishResync();
      return;
    }
    const pending = new PendingApply();
    this.cache.collectApplied(pending, querySetId, rows);
    const diffs = this.cache.apply(pending);
    state.status = 'applied';
    this.runRowCallbacks(diffs, { tag: 'SubscribeApplied' });
    this.afterApplied(state);
  }

  /** Runs `onApplied`, or sends the unsubscribe asked for while the subscription was on its way. */
  private afterApplied(state: SubscriptionState<DB, Reducers, Procedures>): void {
    if (state.unsubscribeRequested) {
      state.unsubscribeRequested = false;
      this.requestUnsubscribe(state);
      return;
    }
    const cb = state.onApplied;
    if (cb !== undefined) this.guard('onApplied', () => cb(this));
  }

  private onUnsubscribeApplied(querySetId: number): void {
    const state = this.subscriptions.get(querySetId);
    const cache = this.activeCache();
    const pending = new PendingApply();
    cache.releaseQuerySet(pending, querySetId);
    const diffs = cache.apply(pending);
    if (cache === this.cache) this.runRowCallbacks(diffs, { tag: 'UnsubscribeApplied' });
    if (state === undefined) return;
    this.endSubscription(state);
    const cb = state.onEnded;
    if (cb !== undefined) this.guard('unsubscribeThen', () => cb(this));
  }

  private onSubscriptionError(querySetId: number, message: string): void {
    const state = this.subscriptions.get(querySetId);
    const error = new Error(state === undefined ? message : `subscription to ${state.queries.join('; ')} failed: ${message}`);
    const cache = this.activeCache();
    const pending = new PendingApply();
    cache.releaseQuerySet(pending, querySetId);
    const diffs = cache.apply(pending);
    if (cache === this.cache) this.runRowCallbacks(diffs, { tag: 'SubscribeError', value: error });
    if (state === undefined) return;
    this.endSubscription(state);
    if (this.resync?.awaiting.delete(querySetId) && this.resync.awaiting.size === 0) this.finishResync();
    const cb = state.onError;
    if (cb !== undefined) this.guard('onError', () => cb(this.errorContext(error), error));
    else console.error(`spacetime-sdk: ${error.message}`);
  }

  private applyTransaction(update: TransactionUpdate, event: Event): void {
    const cache = this.activeCache();
    const pending = new PendingApply();
    cache.collectTransaction(pending, update);
    const diffs = cache.apply(pending);
    if (cache === this.cache) this.runRowCallbacks(diffs, event);
  }

  private onProcedureResult(result: Extract<ServerMessage, { tag: 'ProcedureResult' }>['value']): void {
    const call = this.procedureCalls.get(result.requestId);
    if (call === undefined) {
      console.warn(`spacetime-sdk: procedure result for unknown request ${result.requestId}`);
      return;
    }
    this.procedureCalls.delete(result.requestId);
    if (result.status.tag === 'Returned') call.resolve(result.status.value);
    else call.reject(new ProcedureError(call.procedure, result.status.value));
  }

  private onOneOffQueryResult(result: Extract<ServerMessage, { tag: 'OneOffQueryResult' }>['value']): void {
    const query = this.queries.get(result.requestId);
    if (query === undefined) {
      console.warn(`spacetime-sdk: one-off query result for unknown request ${result.requestId}`);
      return;
    }
    this.queries.delete(result.requestId);
    if (result.result.tag === 'ok') query.resolve(result.result.value);
    else query.reject(new QueryError(result.result.value));
  }

  private onReducerResult(result: Extract<ServerMessage, { tag: 'ReducerResult' }>['value']): void {
    const call = this.calls.get(result.requestId);
    this.calls.delete(result.requestId);
    const outcome = result.result;
    const reducer = { name: call?.name ?? '', args: call?.args };
    switch (outcome.tag) {
      case 'Ok':
        this.applyTransaction(outcome.value.transactionUpdate, {
          tag: 'Reducer',
          value: { timestamp: result.timestamp, status: { tag: 'Committed' }, reducer },
        });
        call?.resolve();
        return;
      case 'OkEmpty':
        call?.resolve();
        return;
      case 'Err': {
        let text: string;
        try {
          text = decode(STRING, outcome.value);
        } catch {
          text = `the reducer failed with an error this client cannot read (${outcome.value.length} bytes)`;
        }
        call?.reject(new ReducerError(reducer.name, text));
        return;
      }
      case 'InternalError':
        call?.reject(new InternalError(`reducer \`${reducer.name}\` could not run: ${outcome.value}`));
        return;
    }
  }

  // --- callbacks ----------------------------------------------------------------------

  private runRowCallbacks(diffs: TableDiff<unknown>[], event: Event): void {
    if (diffs.length === 0) return;
    const ctx = this.eventContext(event);
    for (const diff of diffs) {
      const runtime = this.runtimes.get(diff.table);
      if (runtime === undefined) continue;
      // Copies, so callbacks added or removed during dispatch take effect from the next message.
      const onDelete = [...runtime.onDelete];
      const onUpdate = [...runtime.onUpdate];
      const onInsert = [...runtime.onInsert];
      for (const row of diff.deletes) for (const cb of onDelete) this.guard('onDelete', () => cb(ctx, row));
      for (const [oldRow, newRow] of diff.updates) for (const cb of onUpdate) this.guard('onUpdate', () => cb(ctx, oldRow, newRow));
      for (const row of diff.inserts) for (const cb of onInsert) this.guard('onInsert', () => cb(ctx, row));
    }
  }

  /** Runs a user callback; an exception in it is reported and does not break the connection. */
  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      console.error(`spacetime-sdk: a ${what} callback threw:`, e);
    }
  }

  private eventContext(event: Event): EventContext<DB, Reducers, Procedures> {
    return withExtra(this, { event });
  }

  private errorContext(error: Error | undefined): ErrorContext<DB, Reducers, Procedures> {
    return withExtra(this, { error });
  }
}

/** A context: the connection's members plus `extra`. */
function withExtra<DB, Reducers, Procedures, X extends object>(
  conn: DbConnectionImpl<DB, Reducers, Procedures>,
  extra: X,
): DbContext<DB, Reducers, Procedures> & X {
  const ctx: DbContext<DB, Reducers, Procedures> = {
    db: conn.db,
    reducers: conn.reducers,
    procedures: conn.procedures,
    get isActive() {
      return conn.isActive;
    },
    get identity() {
      return conn.identity;
    },
    get connectionId() {
      return conn.connectionId;
    },
    disconnect: () => conn.disconnect(),
    subscriptionBuilder: () => conn.subscriptionBuilder(),
    query: (sql: string) => conn.query(sql),
  };
  return Object.assign(ctx, extra);
}
