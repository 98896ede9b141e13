/**
 * Table handles: what `conn.db.<table>` is. A handle reads the client cache (`count`,
 * `iter`, `find` on unique columns, `filter` on indexed ones) and registers row callbacks.
 * Generated bindings subclass {@link TableHandle} (or {@link TableHandleWithUpdate} for
 * tables with a primary key) to add one index accessor per indexed column.
 */

import { Type } from './algebraic.js';
import { keyOf, TableCache, TableDef } from './cache.js';

/** A row callback as the runtime stores it: the context type is the handle's business. */
type RowCallback<Row> = (ctx: unknown, row: Row) => void;
type UpdateCallback<Row> = (ctx: unknown, oldRow: Row, newRow: Row) => void;

/**
 * The runtime side of one table: its cache and callbacks. Only the connection and
 * generated code use it.
 */
export class TableRuntime<Row> {
  readonly onInsert = new Set<RowCallback<Row>>();
  readonly onDelete = new Set<RowCallback<Row>>();
  readonly onUpdate = new Set<UpdateCallback<Row>>();
  constructor(
    readonly def: TableDef<Row>,
    readonly cache: TableCache<Row>,
  ) {}
}

/** Looks rows up by a unique column: `conn.db.user.identity.find(id)`. */
export class UniqueIndex<Row, Key> {
  /** @internal */
  constructor(
    private readonly table: TableRuntime<Row>,
    private readonly column: string,
    private readonly type: Type<Key>,
  ) {}

  /** The cached row whose column equals `value`, if any. */
  find(value: Key): Row | undefined {
    return this.table.cache.findUnique(this.column, keyOf(this.type, value));
  }
}

/** Filters rows by an indexed column: `conn.db.player.level.filter(3)`. */
export class BtreeIndex<Row, Key> {
  /** @internal */
  constructor(
    private readonly table: TableRuntime<Row>,
    private readonly column: string,
    private readonly type: Type<Key>,
  ) {}

  /** The cached rows whose column equals `value`. */
  *filter(value: Key): IterableIterator<Row> {
    const wanted = keyOf(this.type, value);
    for (const row of this.table.cache.iter()) {
      const v = (row as Record<string, unknown>)[this.column] as Key;
      if (keyOf(this.type, v) === wanted) yield row;
    }
  }
}

/** A table of the client cache, with row callbacks of context type `Ctx`. */
export class TableHandle<Row, Ctx> {
  /** @internal */
  protected readonly runtime: TableRuntime<Row>;

  /** @internal Generated bindings construct handles. */
  constructor(runtime: TableRuntime<Row>) {
    this.runtime = runtime;
  }

  /** The number of cached rows (always 0 for an event table). */
  count(): number {
    return this.runtime.cache.count;
  }

  /** The cached rows, in no particular order. */
  iter(): IterableIterator<Row> {
    return this.runtime.cache.iter();
  }

  [Symbol.iterator](): IterableIterator<Row> {
    return this.iter();
  }

  /** Calls `cb` for each row that enters the cache (for an event table: each event). */
  onInsert(cb: (ctx: Ctx, row: Row) => void): void {
    this.runtime.onInsert.add(cb as RowCallback<Row>);
  }

  /** Stops calling a callback given to {@link onInsert}. */
  removeOnInsert(cb: (ctx: Ctx, row: Row) => void): void {
    this.runtime.onInsert.delete(cb as RowCallback<Row>);
  }

  /** Calls `cb` for each row that leaves the cache. */
  onDelete(cb: (ctx: Ctx, row: Row) => void): void {
    this.runtime.onDelete.add(cb as RowCallback<Row>);
  }

  /** Stops calling a callback given to {@link onDelete}. */
  removeOnDelete(cb: (ctx: Ctx, row: Row) => void): void {
    this.runtime.onDelete.delete(cb as RowCallback<Row>);
  }

  /** @internal A `find` accessor for a unique column. */
  protected unique<Key>(column: string, type: Type<Key>): UniqueIndex<Row, Key> {
    return new UniqueIndex(this.runtime, column, type);
  }

  /** @internal A `filter` accessor for an indexed column. */
  protected btree<Key>(column: string, type: Type<Key>): BtreeIndex<Row, Key> {
    return new BtreeIndex(this.runtime, column, type);
  }
}

/** A table with a primary key: a delete and an insert of the same key are one update. */
export class TableHandleWithUpdate<Row, Ctx> extends TableHandle<Row, Ctx> {
  /** Calls `cb` when a row is replaced by one with the same primary key. */
  onUpdate(cb: (ctx: Ctx, oldRow: Row, newRow: Row) => void): void {
    this.runtime.onUpdate.add(cb as UpdateCallback<Row>);
  }

  /** Stops calling a callback given to {@link onUpdate}. */
  removeOnUpdate(cb: (ctx: Ctx, oldRow: Row, newRow: Row) => void): void {
    this.runtime.onUpdate.delete(cb as UpdateCallback<Row>);
  }
}
