// A terminal chat client: connects to the database, prints the messages other people send
// as they arrive, and sends each line you type (`/name X` sets your name). It exits at the
// end of input once the server has answered every line.
//
// Usage: `npm install && npm run build && npm start -- [--host URL] [--db NAME]` (defaults:
// http://localhost:3000 and the project's database). Regenerate `src/module_bindings` after
// changing the module with `spacetime generate` in the project directory.

import { createInterface } from 'node:readline';
import { DbConnection } from './module_bindings/index.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

let host = 'http://localhost:3000';
let db = '{{database}}';
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === '--host' && value !== undefined) host = value;
  else if (flag === '--db' && value !== undefined) db = value;
  else {
    console.error('usage: npm start -- [--host URL] [--db NAME]');
    process.exit(2);
  }
}

const conn = DbConnection.builder()
  .withUri(host)
  .withDatabaseName(db)
  .onConnect((_conn, identity) => say(`Connected as ${identity.toAbbreviatedHex()}.`))
  .onConnectError((_ctx, error) => {
    console.error(`Error: cannot connect to ${db} at ${host}: ${error.message}`);
    process.exit(1);
  })
  .build();

conn.db.message.onInsert((ctx, message) => {
  // Messages of the initial subscription are history; print only new ones of others.
  const own = ctx.identity !== undefined && ctx.identity.isEqual(message.sender);
  if (ctx.event.tag === 'SubscribeApplied' || own) return;
  const sender = ctx.db.user.identity.find(message.sender);
  say(`${sender?.name ?? message.sender.toAbbreviatedHex()}: ${message.text}`);
});
conn
  .subscriptionBuilder()
  .onApplied(() => say('Ready: type a message, or /name <name>.'))
  .subscribe(['SELECT * FROM user', 'SELECT * FROM message']);

const pending: Promise<void>[] = [];
for await (const raw of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const line = raw.trim();
  if (line === '') continue;
  const call = line.startsWith('/name ')
    ? conn.reducers.setName({ name: line.slice('/name '.length).trim() })
    : conn.reducers.sendMessage({ text: line });
  pending.push(call.catch((e: unknown) => say(`Failed: ${e instanceof Error ? e.message : String(e)}`)));
}
await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 10_000))]);
conn.disconnect();
process.exit(0);
