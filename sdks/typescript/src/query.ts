/**
 * The answer to a one-off query (`conn.query(sql)`): the matching rows by table, decoded
 * into the table's row type when the bindings know the table and the query selected whole
 * rows, raw BSATN otherwise.
 *
 * The server groups a one-off query's rows under a table name even when they are not that
 * table's rows (a projection such as `SELECT name FROM user`, or a `COUNT(*)`), so rows are
 * decoded only for `SELECT *` and `SELECT t.*` queries, and only if every row decodes; the
 * Python and C# SDKs follow the same rule.
 */
import { decode } from './algebraic.js';
import type { TableDef } from './cache.js';
import { QueryRows, splitRows } from './protocol.js';

const WHOLE_ROWS = /^\s*select\s+(?:(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*)\s*\.\s*)?\*\s+from\b/i;

/** Whether `sql` selects whole rows (`SELECT * FROM …` or `SELECT t.* FROM …`). */
export function selectsWholeRows(sql: string): boolean {
  return WHOLE_ROWS.test(sql);
}

/** `raw` decoded as `def`'s rows, or `undefined` if any row does not decode. */
function decodeAll(def: TableDef<unknown>, raw: readonly Uint8Array[]): unknown[] | undefined {
  try {
    return raw.map((bytes) => decode(def.rowType, bytes));
  } catch {
    return undefined;
  }
}

/** The rows of one table in a {@link QueryResult}. */
export type QueryTable =
  | { readonly name: string; readonly known: true; readonly rows: readonly unknown[] }
  | { readonly name: string; readonly known: false; readonly rows: readonly Uint8Array[] };

/** The rows a one-off query returned. */
export class QueryResult {
  /** Every table the answer has rows for, in the server's order. */
  readonly tables: readonly QueryTable[];

  /** @internal Decodes `rows` with the row types of `known` tables when `sql` selects whole rows. */
  constructor(sql: string, rows: QueryRows, known: readonly TableDef<unknown>[]) {
    const whole = selectsWholeRows(sql);
    this.tables = rows.tables.map((table): QueryTable => {
      const raw = splitRows(table.rows);
      const def = whole ? known.find((d) => d.name === table.table) : undefined;
      const decoded = def === undefined ? undefined : decodeAll(def, raw);
      if (decoded === undefined) return { name: table.table, known: false, rows: raw };
      return { name: table.table, known: true, rows: decoded };
    });
  }

  /** The number of rows over all tables. */
  get length(): number {
    return this.tables.reduce((n, t) => n + t.rows.length, 0);
  }

  /**
   * The rows of `table` (the bindings' definition of it, such as `playerTable`), typed; empty
   * if the answer has none of that table.
   */
  rowsOf<Row>(table: TableDef<Row>): Row[] {
    const name = table.name;
    const out: Row[] = [];
    for (const t of this.tables) {
      if (t.name === name && t.known) out.push(...(t.rows as Row[]));
    }
    return out;
  }
}
