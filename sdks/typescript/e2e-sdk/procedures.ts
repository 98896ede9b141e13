/**
 * End-to-end check of procedures and one-off queries through the SDK against a real server
 * running `tests/modules/procedures` (bindings generated into `bindings-e2e-sdk/`
 * by the calling test, `tests/e2e/sdk_clients.rs`). Prints, in order:
 * - `add = N`: `conn.procedures.add({ a: 2, b: 40 })` awaited;
 * - `panic_in_tx failed: MESSAGE`: the `ProcedureError` of a procedure that panics;
 * - `count_fetched (from a callback's ctx) = N`: a procedure returning a `u64` (a bigint),
 *   called through a subscription callback's `ctx.procedures`;
 * - `bumped by = [N, …]`: after the reducer `bump(5)` committed, the typed rows of the
 *   one-off query `SELECT * FROM bumped`, sorted;
 * - `query refused: MESSAGE`: the `QueryError` of a query of a table that does not exist;
 * - with `--fetch URL` (a server started with `--allow-private-http`, `URL` on loopback):
 *   `fetched = BODY`, what `fetch_and_store(URL)` returned, and `row before value = true` if
 *   the row it wrote with `with_tx` reached this client's subscription callback first;
 * - `done`.
 *
 * With `--hold URL` (a loopback URL that never answers) it only calls `fetch_and_store(URL)`,
 * prints `fetching`, and once the call fails (the test kills the server meanwhile)
 * `the waiting call failed: ERROR`.
 *
 * Usage: `node dist-e2e-sdk/e2e-sdk/procedures.js --host URL --db NAME [--fetch URL | --hold URL]`;
 * exits 1 with the reason on any unexpected outcome.
 */

import { InternalError, ProcedureError, QueryError } from 'spacetime-sdk';
import { bumpedTable, DbConnection } from '../bindings-e2e-sdk/procedures/index.js';

function optionalArg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`missing ${name}; usage: procedures.js --host URL --db NAME`);
  return value;
}

async function main(): Promise<void> {
  const conn = await new Promise<DbConnection>((resolve, reject) => {
    DbConnection.builder()
      .withUri(arg('--host'))
      .withDatabaseName(arg('--db'))
      .onConnect((c) => resolve(c as DbConnection))
      .onConnectError((_ctx, e) => reject(e))
      .build();
  });

  const held = optionalArg('--hold');
  if (held !== undefined) {
    const call = conn.procedures.fetchAndStore({ url: held });
    console.log('fetching');
    try {
      const body = await call;
      throw new Error(`fetch_and_store returned ${body}; the URL should never answer`);
    } catch (e) {
      if (!(e instanceof InternalError)) throw e;
      console.log(`the waiting call failed: ${e.message}`);
    }
    return;
  }

  console.log(`add = ${await conn.procedures.add({ a: 2, b: 40 })}`);

  try {
    await conn.procedures.panicInTx();
    throw new Error('panic_in_tx: expected a failure');
  } catch (e) {
    if (!(e instanceof ProcedureError)) throw e;
    console.log(`panic_in_tx failed: ${e.message}`);
  }

  // Through a callback's context, as every context has the procedures.
  const count = await new Promise<bigint>((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied((ctx) => {
        ctx.procedures.countFetched().then(resolve, reject);
      })
      .onError((_ctx, e) => reject(e))
      .subscribe(['SELECT * FROM bumped']);
  });
  console.log(`count_fetched (from a callback's ctx) = ${count}`);

  await conn.reducers.bump({ by: 5 });
  const result = await conn.query('SELECT * FROM bumped');
  const by = result
    .rowsOf(bumpedTable)
    .map((row) => row.by)
    .sort((a, b) => a - b);
  console.log(`bumped by = [${by.join(', ')}]`);

  try {
    await conn.query('SELECT * FROM nowhere');
    throw new Error('a query of a missing table: expected a refusal');
  } catch (e) {
    if (!(e instanceof QueryError)) throw e;
    console.log(`query refused: ${e.message}`);
  }

  const url = optionalArg('--fetch');
  if (url !== undefined) {
    let seen = false;
    conn.db.fetched.onInsert(() => {
      seen = true;
    });
    await new Promise<void>((resolve, reject) => {
      conn
        .subscriptionBuilder()
        .onApplied(() => resolve())
        .onError((_ctx, e) => reject(e))
        .subscribe(['SELECT * FROM fetched']);
    });
    const body = await conn.procedures.fetchAndStore({ url });
    console.log(`fetched = ${body}`);
    console.log(`row before value = ${seen}`);
  }

  console.log('done');
  conn.disconnect();
}

main().catch((e: unknown) => {
  console.error(`Error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
