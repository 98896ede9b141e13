/**
 * The answer to a one-off query (`conn.query(sql)`): the matching rows by table, decoded
 * into the table's row type when the bindings know the table, raw BSATN otherwise.
 */
import { decode } from './algebraic.js';
import type { TableDef } from './cache.js';
import { describe, InternalError } from './errors.js';
import { QueryRows, splitRows } from './protocol.js';

/** The rows of one table in a {@link QueryResult}. */
export type QueryTable =
  | { readonly name: string; readonly known: true; readonly rows: readonly unknown[] }
  | { readonly name: string; readonly known: false; readonly rows: readonly Uint8Array[] };

/** The rows a one-off query returned. */
export class QueryResult {
  /** Every table the answer has rows for, in the server's order. */
  readonly tables: readonly QueryTable[];

  /** @internal Decodes `rows` with the row types of `known` tables. */
  constructor(rows: QueryRows, known: readonly TableDef<unknown>[]) {
    this.tables = rows.tables.map((table): QueryTable => {
      const raw = splitRows(table.rows);
      const def = known.find((d) => d.name === table.table);
      if (def === undefined) return { name: table.table, known: false, rows: raw };
      const decoded = raw.map((bytes) => {
        try {
          return decode(def.rowType, bytes);
        } catch (e) {
          throw new InternalError(
            `cannot decode a row of \`${table.table}\` from a one-off query: ${describe(e)}; the bindings are probably out of date: re-run \`spacetime generate\``,
          );
        }
      });
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
