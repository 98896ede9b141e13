/**
 * Table handles: what `conn.db.<table>` is. A handle reads the client cache (`count`,
 * `iter`, `find` on unique columns, `filter` on indexed ones) and registers row callbacks.
 * Generated bindings subclass {@link TableHandle} (or {@link TableHandleWithUpdate} for
 * tables with a primary key) to add one index accessor per indexed column, and one
 * {@link BtreePrefixIndex} per multi-column btree index.
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

/** One end of a {@link Range}. */
export type Bound<T> = { tag: 'included'; value: T } | { tag: 'excluded'; value: T } | { tag: 'unbounded' };

/** The values a {@link Range} can bound: those whose order the client knows. */
export type Ordered = number | bigint | string | boolean;

/**
 * Orders two column values as the database orders them: numbers and bigints numerically,
 * booleans false first, strings by code point (the order of their UTF-8 bytes).
 */
function compareOrdered(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a.codePointAt(i)!;
      const y = b.codePointAt(i)!;
      if (x !== y) return x < y ? -1 : 1;
      if (x > 0xffff) i++; // both strings hold the same surrogate pair here
    }
    return Math.sign(a.length - b.length);
  }
  const kinds = ['number', 'bigint', 'boolean'];
  if (typeof a === typeof b && kinds.includes(typeof a)) {
    const [x, y] = [a as number, b as number];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw new Error(`a Range can only bound numbers, bigints, strings and booleans, not ${typeof a} against ${typeof b}`);
}

/** A range of values of the last column given to {@link BtreePrefixIndex.filter}. */
export class Range<T extends Ordered> {
  /** Both ends default to unbounded. */
  constructor(
    readonly from: Bound<T> = { tag: 'unbounded' },
    readonly to: Bound<T> = { tag: 'unbounded' },
  ) {}

  /** Whether `value` lies within both ends. */
  contains(value: T): boolean {
    const above = (b: Bound<T>): boolean => b.tag === 'unbounded' || compareOrdered(value, b.value) > (b.tag === 'excluded' ? 0 : -1);
    const below = (b: Bound<T>): boolean => b.tag === 'unbounded' || compareOrdered(value, b.value) < (b.tag === 'excluded' ? 0 : 1);
    return above(this.from) && below(this.to);
  }
}

/**
 * Filters rows by a multi-column btree index: `conn.db.player.byLevelAndScore.filter([3])`
 * (a prefix of the columns, each equal), `filter([3, 10])`, or `filter([3, new Range(…)])`
 * (equal on all but the last given column, which lies in a range). Generated bindings spell
 * `Prefix` as the union of the tuples the index accepts.
 */
export class BtreePrefixIndex<Row, Prefix extends readonly unknown[]> {
  /** @internal */
  constructor(
    private readonly table: TableRuntime<Row>,
    private readonly columns: readonly string[],
    private readonly types: readonly Type<unknown>[],
  ) {}

  /** The cached rows whose leading columns match `prefix`. */
  *filter(prefix: Prefix): IterableIterator<Row> {
    if (prefix.length === 0 || prefix.length > this.columns.length) {
      throw new Error(`filter takes 1 to ${this.columns.length} values of the columns (${this.columns.join(', ')}), in order; got ${prefix.length}`);
    }
    const last = prefix.length - 1;
    const range = prefix[last] instanceof Range ? (prefix[last] as Range<Ordered>) : undefined;
    const keys = prefix.map((v, i) => (i === last && range !== undefined ? undefined : keyOf(this.types[i]!, v)));
    for (const row of this.table.cache.iter()) {
      const fields = row as Record<string, unknown>;
      const matches = keys.every((key, i) =>
        key === undefined ? range!.contains(fields[this.columns[i]!] as Ordered) : keyOf(this.types[i]!, fields[this.columns[i]!]) === key,
      );
      if (matches) yield row;
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

  /** @internal A `filter` accessor for a multi-column btree index over `columns`, in key order. */
  protected btreePrefix<Prefix extends readonly unknown[]>(columns: readonly string[], types: readonly Type<unknown>[]): BtreePrefixIndex<Row, Prefix> {
    return new BtreePrefixIndex<Row, Prefix>(this.runtime, columns, types);
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
