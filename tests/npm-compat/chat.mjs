// The published `spacetimedb@2.10.1` npm client against our server and the quickstart
// chat module: connect, subscribe to both tables, call reducers (one that commits, one
// that the module rejects), and see another client's message arrive. Run by
// `tests/e2e/npm_compat.rs`, which reads the lines this prints.
//
// Usage: node chat.mjs URL DATABASE
// Prints `connected HEX`, `applied users=N messages=M`, `set_name ok`,
// `set_name rejected: MSG`, `insert message TEXT via EVENT`, `update user OLD -> NEW`,
// then `ready` (the test now sends a message from the CLI), and finally `bye` once that
// message arrived. Any failure prints `error: …` and exits 1; a deadline bounds the run.
//
// The bindings below are hand-written with the package's own schema API (the npm
// package ships no code generator): the same table, column and reducer definitions
// upstream's `spacetime generate --lang typescript` emits for the chat module.

import { DbConnectionBuilder, DbConnectionImpl, procedures, reducerSchema, reducers, schema, t, table } from 'spacetimedb';

const [url, database] = process.argv.slice(2);
if (!url || !database) {
  console.error('usage: node chat.mjs URL DATABASE');
  process.exit(2);
}

const tablesSchema = schema({
  user: table(
    { name: 'user', public: true },
    { identity: t.identity().primaryKey(), name: t.option(t.string()), online: t.bool() }
  ),
  message: table({ name: 'message', public: true }, { sender: t.identity(), sent: t.timestamp(), text: t.string() }),
});
const reducersSchema = reducers(
  reducerSchema('send_message', { text: t.string() }),
  reducerSchema('set_name', { name: t.string() })
);
const REMOTE_MODULE = {
  versionInfo: { cliVersion: '2.10.1' },
  tables: tablesSchema.schemaType.tables,
  reducers: reducersSchema.reducersType.reducers,
  ...procedures(),
};

/** A connection to the chat module. */
class DbConnection extends DbConnectionImpl {
  static builder() {
    return new DbConnectionBuilder(REMOTE_MODULE, config => new DbConnection(config));
  }
}

const say = line => console.log(line);
const fail = message => {
  say(`error: ${message}`);
  process.exit(1);
};
const deadline = setTimeout(() => fail('timed out after 60 s'), 60_000);
const describe = event => event?.tag ?? 'unknown';

let myIdentity;
const conn = DbConnection.builder()
  .withUri(url)
  .withDatabaseName(database)
  .onConnect((ctx, identity) => {
    myIdentity = identity;
    say(`connected ${identity.toHexString()}`);
    ctx
      .subscriptionBuilder()
      .onApplied(applied)
      .onError((_ctx, error) => fail(`subscription failed: ${error?.message ?? error}`))
      .subscribe(['SELECT * FROM user', 'SELECT * FROM message']);
  })
  .onConnectError((_ctx, error) => fail(`cannot connect: ${error?.message ?? error}`))
  .onDisconnect(() => say('disconnected'))
  .build();

conn.db.message.onInsert((ctx, row) => {
  say(`insert message ${row.text} via ${describe(ctx.event)}`);
  if (row.text === 'hello from the cli') {
    clearTimeout(deadline);
    say('bye');
    conn.disconnect();
  }
});
conn.db.user.onUpdate((_ctx, old, updated) => {
  if (old.identity.isEqual(myIdentity)) {
    say(`update user ${old.name ?? '(none)'} -> ${updated.name ?? '(none)'}`);
  }
});

async function applied(ctx) {
  say(`applied users=${ctx.db.user.count()} messages=${ctx.db.message.count()}`);
  try {
    await ctx.reducers.setName({ name: 'npm' });
    say('set_name ok');
    await ctx.reducers.setName({ name: '' }).then(
      () => fail('an empty name was accepted'),
      error => say(`set_name rejected: ${error?.message ?? error}`)
    );
    await ctx.reducers.sendMessage({ text: 'hello from npm' });
    say('send_message ok');
    const me = ctx.db.user.identity.find(myIdentity);
    say(`cached name ${me?.name ?? '(none)'}`);
    say('ready');
  } catch (error) {
    fail(`a reducer call failed: ${error?.message ?? error}`);
  }
}
