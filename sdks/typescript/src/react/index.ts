/**
 * `spacetime-sdk/react`: React bindings over a connection. {@link SpacetimeDBProvider}
 * makes a connection available to a tree; {@link useTable} gives a component the cached
 * rows of a table and re-renders it when they change (built on `useSyncExternalStore`);
 * {@link useSubscription} subscribes while a component is mounted and unsubscribes when
 * it unmounts; {@link useReducer} wraps a reducer call with pending and error state.
 */

import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { ReactElement, ReactNode } from 'react';
import type { DbContext } from '../event.js';
import type { SubscriptionHandle } from '../subscription.js';
import type { TableHandle } from '../table.js';

/** Any connection, as the provider holds it (the hooks give it back typed). */
type AnyConnection = DbContext<unknown, unknown>;

const ConnectionContext = createContext<AnyConnection | undefined>(undefined);

/** Props of {@link SpacetimeDBProvider}. */
export interface SpacetimeDBProviderProps {
  /**
   * The connection the tree uses (from `DbConnection.builder().build()`); typed loosely so
   * any module's `DbConnection` fits, the hooks give it back typed.
   */
  connection: { readonly db: unknown; readonly reducers: unknown; subscriptionBuilder(): unknown };
  children?: ReactNode;
}

/** Makes `connection` available to {@link useSpacetimeDB} and the other hooks below it. */
export function SpacetimeDBProvider(props: SpacetimeDBProviderProps): ReactElement {
  // Every DbConnection is a DbContext of its own tables and reducers.
  return createElement(ConnectionContext.Provider, { value: props.connection as AnyConnection }, props.children);
}

/**
 * The provider's connection, typed as the caller's `DbConnection`.
 *
 * @throws {Error} outside a {@link SpacetimeDBProvider}.
 */
export function useSpacetimeDB<Conn = AnyConnection>(): Conn {
  const conn = useContext(ConnectionContext);
  if (conn === undefined) throw new Error('useSpacetimeDB needs a <SpacetimeDBProvider connection={conn}> above this component');
  return conn as unknown as Conn;
}

/** A snapshot store over one table handle, for `useSyncExternalStore`. */
class TableStore<Row, Ctx> {
  private version = 0;
  private snapshotVersion = -1;
  private snapshot: readonly Row[] = [];

  constructor(
    private readonly table: TableHandle<Row, Ctx>,
    private readonly where: ((row: Row) => boolean) | undefined,
  ) {}

  readonly subscribe = (onChange: () => void): (() => void) => {
    const bump = (): void => {
      this.version++;
      onChange();
    };
    this.table.onInsert(bump);
    this.table.onDelete(bump);
    const updates = this.table as unknown as { onUpdate?: (cb: () => void) => void; removeOnUpdate?: (cb: () => void) => void };
    updates.onUpdate?.call(this.table, bump);
    return () => {
      this.table.removeOnInsert(bump);
      this.table.removeOnDelete(bump);
      updates.removeOnUpdate?.call(this.table, bump);
    };
  };

  readonly getSnapshot = (): readonly Row[] => {
    if (this.snapshotVersion !== this.version) {
      const rows = [...this.table.iter()];
      this.snapshot = this.where === undefined ? rows : rows.filter(this.where);
      this.snapshotVersion = this.version;
    }
    return this.snapshot;
  };
}

/**
 * The cached rows of `table` (those matching `where`, if given), re-rendering the
 * component whenever they change. Pass a stable `where` (e.g. from `useCallback`): a new
 * function starts a new store.
 */
export function useTable<Row, Ctx>(table: TableHandle<Row, Ctx>, where?: (row: Row) => boolean): readonly Row[] {
  const store = useMemo(() => new TableStore(table, where), [table, where]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** The state of a {@link useSubscription}. */
export interface SubscriptionState {
  /** Whether the initial rows are in the cache. */
  readonly isApplied: boolean;
  /** Why the subscription failed, if it did. */
  readonly error: Error | undefined;
}

/**
 * Subscribes to `queries` while the component is mounted, and unsubscribes when it
 * unmounts or the queries change.
 */
export function useSubscription(queries: readonly string[]): SubscriptionState {
  const conn = useSpacetimeDB();
  const [state, setState] = useState<SubscriptionState>({ isApplied: false, error: undefined });
  const key = queries.join('\u0000');
  useEffect(() => {
    let live = true;
    setState({ isApplied: false, error: undefined });
    const handle: SubscriptionHandle<unknown, unknown> = conn
      .subscriptionBuilder()
      .onApplied(() => live && setState({ isApplied: true, error: undefined }))
      .onError((_ctx, error) => live && setState({ isApplied: false, error }))
      .subscribe(key.split('\u0000'));
    return () => {
      live = false;
      if (!handle.isEnded()) handle.unsubscribe();
    };
  }, [conn, key]);
  return state;
}

/** What {@link useReducer} returns. */
export interface ReducerCall<Args extends unknown[]> {
  /** Calls the reducer; the promise settles as the reducer's does. */
  readonly call: (...args: Args) => Promise<void>;
  /** Whether a call made through `call` is still waiting for its result. */
  readonly pending: boolean;
  /** The error of the last call made through `call`, until the next one. */
  readonly error: Error | undefined;
}

/**
 * A reducer of the provider's connection, with pending and error state:
 * `const { call, pending, error } = useReducer((r: RemoteReducers) => r.sendMessage)`.
 */
export function useReducer<Reducers, Args extends unknown[]>(pick: (reducers: Reducers) => (...args: Args) => Promise<void>): ReducerCall<Args> {
  const conn = useSpacetimeDB<DbContext<unknown, Reducers>>();
  const [pending, setPending] = useState(0);
  const [error, setError] = useState<Error | undefined>(undefined);
  const pickRef = useRef(pick);
  pickRef.current = pick;
  const call = useCallback(
    (...args: Args): Promise<void> => {
      const reducers = conn.reducers;
      const fn = pickRef.current(reducers);
      setPending((n) => n + 1);
      setError(undefined);
      return fn.apply(reducers, args).then(
        () => setPending((n) => n - 1),
        (e: unknown) => {
          setPending((n) => n - 1);
          const err = e instanceof Error ? e : new Error(String(e));
          setError(err);
          throw err;
        },
      );
    },
    [conn],
  );
  return { call, pending: pending > 0, error };
}
