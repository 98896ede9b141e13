/**
 * End-to-end check of views through the SDK against a real server running
 * `tests/modules/views` (bindings generated into `bindings-e2e-sdk/views` by the calling
 * test, `tests/e2e/sdk_clients.rs`), with two connections (two anonymous identities).
 * Views are read-only tables in the client cache. Prints, in order:
 * - `A my_items = [..]`, `B my_items = [..]`: a per-caller view, each caller's own items;
 * - `A expensive_items = [..]`: an anonymous view's initial rows;
 * - `A expensive_items insert NAME PRICE`: its delta when B adds an expensive item, while
 *   `A my_items count = 2` stays;
 * - `A my_player insert NAME SCORE`, `A my_player find = NAME`, `A my_player update OLD -> NEW`:
 *   a keyed view gives `find` and `onUpdate`;
 * - `A query my_items = [..]`: a one-off query of a view, typed rows;
 * - `done`.
 *
 * Usage: `node dist-e2e-sdk/e2e-sdk/views.js --host URL --db NAME`; exits 1 with the reason
 * on any unexpected outcome.
 */

import { DbConnection, myItemsTable, type Item } from '../bindings-e2e-sdk/views/index.js';

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`missing ${name}; usage: views.js --host URL --db NAME`);
  return value;
}

function connect(): Promise<DbConnection> {
  return new Promise<DbConnection>((resolve, reject) => {
    DbConnection.builder()
      .withUri(arg('--host'))
      .withDatabaseName(arg('--db'))
      .onConnect((c) => resolve(c as DbConnection))
      .onConnectError((_ctx, e) => reject(e))
      .build();
  });
}

function subscribe(conn: DbConnection, queries: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    conn
      .subscriptionBuilder()
      .onApplied(() => resolve())
      .onError((_ctx, e) => reject(e))
      .subscribe(queries);
  });
}

/** Resolves with the first value `register` passes to its callback, or rejects after 30 s. */
function next<T>(what: string, register: (cb: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 30 s`)), 30_000);
    let done = false;
    register((value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const names = (items: Iterable<Item>): string[] => [...items].map((i) => i.name).sort();

async function main(): Promise<void> {
  const a = await connect();
  const b = await connect();
  await a.reducers.addItem({ name: 'a-cheap', price: 5 });
  await a.reducers.addItem({ name: 'a-pricey', price: 150 });
  await b.reducers.addItem({ name: 'b-thing', price: 7 });

  await subscribe(a, ['SELECT * FROM my_items', 'SELECT * FROM expensive_items', 'SELECT * FROM my_player']);
  await subscribe(b, ['SELECT * FROM my_items']);
  console.log(`A my_items = [${names(a.db.myItems.iter()).join(', ')}]`);
  console.log(`B my_items = [${names(b.db.myItems.iter()).join(', ')}]`);
  console.log(`A expensive_items = [${names(a.db.expensiveItems.iter()).join(', ')}]`);

  const expensive = next<Item>('expensive_items insert', (cb) => a.db.expensiveItems.onInsert((_ctx, item) => cb(item)));
  await b.reducers.addItem({ name: 'b-pricey', price: 500 });
  const seen = await expensive;
  console.log(`A expensive_items insert ${seen.name} ${seen.price}`);
  console.log(`A my_items count = ${a.db.myItems.count()}`);

  const inserted = next<{ name: string; score: number }>('my_player insert', (cb) => a.db.myPlayer.onInsert((_ctx, p) => cb(p)));
  await a.reducers.setPlayer({ name: 'alice', score: 1 });
  const mine = await inserted;
  console.log(`A my_player insert ${mine.name} ${mine.score}`);
  const identity = a.identity;
  if (identity === undefined) throw new Error('no identity after connecting');
  console.log(`A my_player find = ${a.db.myPlayer.identity.find(identity)?.name ?? 'none'}`);
  const updated = next<[number, number]>('my_player update', (cb) => a.db.myPlayer.onUpdate((_ctx, old, now) => cb([old.score, now.score])));
  await a.reducers.setPlayer({ name: 'alice', score: 2 });
  const [before, after] = await updated;
  console.log(`A my_player update ${before} -> ${after}`);

  const result = await a.query('SELECT * FROM my_items');
  console.log(`A query my_items = [${names(result.rowsOf(myItemsTable)).join(', ')}]`);

  console.log('done');
  a.disconnect();
  b.disconnect();
}

main().catch((e: unknown) => {
  console.error(`Error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
