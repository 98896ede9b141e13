/**
 * The client cache: the rows of the client's subscriptions, one {@link TableCache} per
 * table, keyed by each row's BSATN bytes with a reference count.
 *
 * The server sends bags, not sets: a row matched by two query sets arrives twice. A row
 * enters the cache (and fires `onInsert`) when its count goes from 0 to 1 and leaves it
 * (firing `onDelete`) when the count returns to 0. Everything a message changes is applied
 * first and reported as one net diff per table afterwards, so callbacks always see the whole
 * message applied, and a row that leaves and comes back within one message fires nothing.
 * In a table with a primary key, a delete and an insert of the same key in one message are
 * one update. The cache also remembers which rows each query set holds, so a set that ends
 * without the server listing its rows (an error) still lets go of them.
 */

import { bytesKey } from './bsatn.js';
import { decode, encode, ProductType, Type } from './algebraic.js';
import { QueryRows, splitRows, TransactionUpdate, TableUpdateRows } from './protocol.js';

/** What a client knows of one table: generated bindings provide one per table. */
export interface TableDef<Row> {
  /** The wire name (SQL, `TableUpdate.tableName`). */
  readonly name: string;
  /** The row type. */
  readonly rowType: ProductType<Row>;
  /** The primary key column's field name, if the table has one. */
  readonly primaryKey?: string;
  /** The field names of the columns that are unique on their own. */
  readonly uniqueColumns: readonly string[];
  /** Whether rows are events: delivered as inserts, never stored. */
  readonly isEvent: boolean;
}

/** The net change to one table in one message. */
export interface TableDiff<Row> {
  readonly table: string;
  readonly inserts: Row[];
  readonly deletes: Row[];
  readonly updates: [oldRow: Row, newRow: Row][];
}

/** The raw rows one message inserts into and deletes from one table. */
export interface RawChange {
  inserts: Uint8Array[];
  deletes: Uint8Array[];
  events: Uint8Array[];
}

/** Appends `items` to `to` (a spread would overflow the stack for a large message). */
function append<T>(to: T[], items: readonly T[]): void {
  for (const item of items) to.push(item);
}

function emptyChange(): RawChange {
  return { inserts: [], deletes: [], events: [] };
}

/** A function giving the BSATN of one column of a row, as a map key. */
type ColumnKey<Row> = (row: Row) => string;

function columnKey<Row>(def: TableDef<Row>, field: string): ColumnKey<Row> {
  const entry = def.rowType.fields.find(([name]) => name === field);
  if (entry === undefined) {
    throw new Error(`table \`${def.name}\` has no column \`${field}\`; the bindings are out of date: re-run \`spacetime generate\``);
  }
  const type = entry[1];
  return (row) => keyOf(type, (row as Record<string, unknown>)[field]);
}

/**
 * The key of `value` in a column of type `type`, for index lookups: equal values give
 * equal keys. Strings and numbers key by their text (a column has one type, so no two
 * kinds of value meet in one index); anything else by its BSATN.
 */
export function keyOf<T>(type: Type<T>, value: T): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      // Object.is tells -0 from 0, as BSATN does.
      return Object.is(value, -0) ? '-0' : String(value);
    default:
      return bytesKey(encode(type, value));
  }
}

interface Entry<Row> {
  row: Row;
  count: number;
}

/** The cached rows of one table. */
export class TableCache<Row> {
  private readonly rows = new Map<string, Entry<Row>>();
  private readonly primaryKey: ColumnKey<Row> | undefined;
  private readonly uniques = new Map<string, { key: ColumnKey<Row>; rows: Map<string, string> }>();

  constructor(readonly def: TableDef<Row>) {
    this.primaryKey = def.primaryKey !== undefined && !def.isEvent ? columnKey(def, def.primaryKey) : undefined;
    for (const column of def.uniqueColumns) {
      this.uniques.set(column, { key: columnKey(def, column), rows: new Map() });
    }
  }

  /** How many rows are cached. */
  get count(): number {
    return this.rows.size;
  }

  /** The cached rows. */
  *iter(): IterableIterator<Row> {
    for (const e of this.rows.values()) yield e.row;
  }

  /** The row whose unique `column` has the BSATN key `key`. */
  findUnique(column: string, key: string): Row | undefined {
    const index = this.uniques.get(column);
    const rowKey = index?.rows.get(key);
    return rowKey === undefined ? undefined : this.rows.get(rowKey)?.row;
  }

  private decodeRow(bytes: Uint8Array): Row {
    try {
      return decode(this.def.rowType, bytes);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(
        `cannot decode a row of table \`${this.def.name}\` as ${this.def.rowType.name} (${why}); the bindings are probably out of date: re-run \`spacetime generate\``,
      );
    }
  }

  /** Applies one message's inserts and deletes and returns the net diff. */
  apply(change: RawChange): TableDiff<Row> {
    if (this.def.isEvent) {
      return { table: this.def.name, inserts: change.events.concat(change.inserts).map((b) => this.decodeRow(b)), deletes: [], updates: [] };
    }
    // Whether each touched row was present before the message, in first-touch order.
    const touched = new Map<string, boolean>();
    const removed = new Map<string, Row>();
    // Inserts first, so a delete and an insert of the same row in one message never sees it missing.
    for (const bytes of change.inserts) {
      const key = bytesKey(bytes);
      const entry = this.rows.get(key);
      if (!touched.has(key)) touched.set(key, entry !== undefined);
      if (entry !== undefined) entry.count += 1;
      else this.rows.set(key, { row: this.decodeRow(bytes), count: 1 });
    }
    for (const bytes of change.deletes) {
      const key = bytesKey(bytes);
      const entry = this.rows.get(key);
      if (!touched.has(key)) touched.set(key, entry !== undefined);
      if (entry === undefined) continue; // the server deleted a row this client does not have
      if (entry.count > 1) {
        entry.count -= 1;
      } else {
        this.rows.delete(key);
        removed.set(key, entry.row);
      }
    }
    const inserts: [string, Row][] = [];
    const deletes: [string, Row][] = [];
    for (const [key, before] of touched) {
      const now = this.rows.get(key);
      if (!before && now !== undefined) inserts.push([key, now.row]);
      else if (before && now === undefined) deletes.push([key, removed.get(key)!]);
    }
    const diff = this.pairUpdates(inserts, deletes);
    this.updateIndexes(diff);
    return { table: diff.table, inserts: diff.inserts.map(([, r]) => r), deletes: diff.deletes.map(([, r]) => r), updates: diff.updates.map(([[, o], [, n]]) => [o, n]) };
  }

  /** Turns a delete and an insert with the same primary key into an update. */
  private pairUpdates(inserts: [string, Row][], deletes: [string, Row][]): KeyedDiff<Row> {
    const pk = this.primaryKey;
    if (pk === undefined || inserts.length === 0 || deletes.length === 0) {
      return { table: this.def.name, inserts, deletes, updates: [] };
    }
    const deletedByPk = new Map<string, number>(deletes.map(([, row], i) => [pk(row), i]));
    const paired = new Set<number>();
    const updates: [[string, Row], [string, Row]][] = [];
    const restInserts: [string, Row][] = [];
    for (const insert of inserts) {
      const k = pk(insert[1]);
      const i = deletedByPk.get(k);
      if (i === undefined) {
        restInserts.push(insert);
      } else {
        deletedByPk.delete(k);
        paired.add(i);
        updates.push([deletes[i]!, insert]);
      }
    }
    return { table: this.def.name, inserts: restInserts, deletes: deletes.filter((_, i) => !paired.has(i)), updates };
  }

  private updateIndexes(diff: KeyedDiff<Row>): void {
    for (const index of this.uniques.values()) {
      for (const [, row] of diff.deletes.concat(diff.updates.map(([old]) => old))) index.rows.delete(index.key(row));
      for (const [key, row] of diff.inserts.concat(diff.updates.map(([, now]) => now))) index.rows.set(index.key(row), key);
    }
  }

  /** The diff that turns this table's rows into `newer`'s, and makes them this table's (after a reconnect). */
  replaceWith(newer: TableCache<Row>): TableDiff<Row> {
    const deletes: [string, Row][] = [];
    const inserts: [string, Row][] = [];
    for (const [k, e] of this.rows) if (!newer.rows.has(k)) deletes.push([k, e.row]);
    for (const [k, e] of newer.rows) if (!this.rows.has(k)) inserts.push([k, e.row]);
    const diff = this.pairUpdates(inserts, deletes);
    this.rows.clear();
    for (const [k, e] of newer.rows) this.rows.set(k, e);
    for (const [column, index] of this.uniques) {
      index.rows.clear();
      for (const [k, v] of newer.uniques.get(column)?.rows ?? []) index.rows.set(k, v);
    }
    return { table: diff.table, inserts: diff.inserts.map(([, r]) => r), deletes: diff.deletes.map(([, r]) => r), updates: diff.updates.map(([[, o], [, n]]) => [o, n]) };
  }
}

interface KeyedDiff<Row> {
  table: string;
  inserts: [string, Row][];
  deletes: [string, Row][];
  updates: [[string, Row], [string, Row]][];
}

/** The rows of a table that one query set holds: BSATN key → (bytes, count). */
type Held = Map<string, Map<string, { bytes: Uint8Array; count: number }>>;

/**
 * Every table's cache, plus which rows each query set holds. A message's changes are
 * gathered with {@link ClientCache.collect} (or its helpers) into a {@link PendingApply},
 * then applied at once with {@link ClientCache.apply}.
 */
export class ClientCache {
  private readonly tables = new Map<string, TableCache<unknown>>();
  private readonly held = new Map<number, Held>();

  /** A cache with a table for each of `defs`. */
  constructor(readonly defs: readonly TableDef<unknown>[]) {
    for (const def of defs) this.tables.set(def.name, new TableCache(def));
  }

  /** The cache of table `name`. */
  table(name: string): TableCache<unknown> | undefined {
    return this.tables.get(name);
  }

  private tableOrThrow(name: string): TableCache<unknown> {
    const table = this.tables.get(name);
    if (table === undefined) {
      throw new Error(`the server sent rows of table \`${name}\`, which the bindings do not know; re-run \`spacetime generate\``);
    }
    return table;
  }

  private track(querySetId: number, table: string, rows: Uint8Array[], sign: 1 | -1): void {
    let byTable = this.held.get(querySetId);
    if (byTable === undefined) this.held.set(querySetId, (byTable = new Map()));
    let rowsOf = byTable.get(table);
    if (rowsOf === undefined) byTable.set(table, (rowsOf = new Map()));
    for (const bytes of rows) {
      const key = bytesKey(bytes);
      const entry = rowsOf.get(key);
      if (entry === undefined) {
        if (sign > 0) rowsOf.set(key, { bytes, count: 1 });
      } else {
        entry.count += sign;
        if (entry.count <= 0) rowsOf.delete(key);
      }
    }
  }

  /** Adds rows that query set `querySetId` gained (`sign` 1) or lost (-1) in table `table`. */
  collect(pending: PendingApply, querySetId: number, table: string, rows: TableUpdateRows): void {
    const cache = this.tableOrThrow(table);
    const change = pending.changeOf(table);
    if (rows.tag === 'EventTable') {
      append(change.events, splitRows(rows.value.events));
      return;
    }
    const inserts = splitRows(rows.value.inserts);
    const deletes = splitRows(rows.value.deletes);
    append(change.inserts, inserts);
    append(change.deletes, deletes);
    if (!cache.def.isEvent) {
      this.track(querySetId, table, inserts, 1);
      this.track(querySetId, table, deletes, -1);
    }
  }

  /** Adds the initial rows of query set `querySetId` (a `SubscribeApplied`) as inserts (events, for event tables). */
  collectApplied(pending: PendingApply, querySetId: number, rows: QueryRows): void {
    for (const table of rows.tables) {
      const isEvent = this.tableOrThrow(table.table).def.isEvent;
      const empty = { sizeHint: { tag: 'FixedSize' as const, value: 0 }, rowsData: new Uint8Array() };
      this.collect(
        pending,
        querySetId,
        table.table,
        isEvent ? { tag: 'EventTable', value: { events: table.rows } } : { tag: 'PersistentTable', value: { inserts: table.rows, deletes: empty } },
      );
    }
  }

  /** Adds every query set's rows of a transaction. */
  collectTransaction(pending: PendingApply, update: TransactionUpdate): void {
    for (const qs of update.querySets) {
      for (const table of qs.tables) for (const rows of table.rows) this.collect(pending, qs.querySetId, table.tableName, rows);
    }
  }

  /** Adds the deletes of every row query set `querySetId` still holds, and forgets the set. */
  releaseQuerySet(pending: PendingApply, querySetId: number): void {
    const byTable = this.held.get(querySetId);
    this.held.delete(querySetId);
    if (byTable === undefined) return;
    for (const [table, rows] of byTable) {
      const change = pending.changeOf(table);
      for (const { bytes, count } of rows.values()) for (let i = 0; i < count; i++) change.deletes.push(bytes);
    }
  }

  /** Applies everything gathered and returns the non-empty diffs, table by table. */
  apply(pending: PendingApply): TableDiff<unknown>[] {
    const diffs: TableDiff<unknown>[] = [];
    for (const [table, change] of pending.changes) {
      const diff = this.tableOrThrow(table).apply(change);
      if (diff.inserts.length + diff.deletes.length + diff.updates.length > 0) diffs.push(diff);
    }
    return diffs;
  }

  /** Makes `newer`'s rows this cache's (after a reconnect) and returns what changed. */
  replaceWith(newer: ClientCache): TableDiff<unknown>[] {
    const diffs: TableDiff<unknown>[] = [];
    for (const [name, table] of this.tables) {
      const other = newer.tables.get(name);
      if (other === undefined) continue;
      const diff = table.replaceWith(other);
      if (diff.inserts.length + diff.deletes.length + diff.updates.length > 0) diffs.push(diff);
    }
    this.held.clear();
    for (const [k, v] of newer.held) this.held.set(k, v);
    return diffs;
  }
}

/** The raw changes of one message, per table, before they are applied. */
export class PendingApply {
  readonly changes = new Map<string, RawChange>();

  /** The change of table `table`, created empty on first use. */
  changeOf(table: string): RawChange {
    let change = this.changes.get(table);
    if (change === undefined) this.changes.set(table, (change = emptyChange()));
    return change;
  }
}
