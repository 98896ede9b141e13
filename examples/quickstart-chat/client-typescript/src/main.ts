/**
 * The quickstart chat's terminal client in TypeScript (Node 20): connects to the chat
 * database (reusing the token saved in a credentials file), subscribes to every user and
 * message, prints other people's messages and who comes online, renames or goes offline as
 * it happens, and turns each line of standard input into a message, or `/name X` into a
 * name change. A lost connection is re-established (as the same identity) with backoff.
 *
 * It prints one line per event, the same lines as the Rust client, and exits on end of
 * input once every call it made has been answered, so a script can drive it through pipes.
 *
 * Usage: `node dist/main.js [--host URL] [--db NAME] [--credentials-dir DIR]`
 * (defaults: `http://localhost:3000`, `quickstart-chat`, `~/.spacetimedb_client_credentials`).
 * Build with `npx tsc -p .` (after building `sdks/typescript`).
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Identity } from 'spacetime-sdk';
import { DbConnection, type EventContext, type Message, type User } from './module_bindings/index.js';

/** The name of this client's credentials file. */
const CREDENTIALS_KEY = 'quickstart-chat';

/** Where to connect and where the token lives. */
interface Options {
  host: string;
  db: string;
  credentialsDir: string;
}

function parseArgs(args: string[]): Options {
  const options: Options = { host: 'http://localhost:3000', db: 'quickstart-chat', credentialsDir: join(homedir(), '.spacetimedb_client_credentials') };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--host') options.host = value;
    else if (flag === '--db') options.db = value;
    else if (flag === '--credentials-dir') options.credentialsDir = value;
    else throw new Error(`unknown argument \`${flag}\``);
  }
  return options;
}

/** Prints one event line. */
function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function loadToken(dir: string): Promise<string | undefined> {
  try {
    const token = (await readFile(join(dir, CREDENTIALS_KEY), 'utf8')).trim();
    return token === '' ? undefined : token;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the saved token: ${(e as Error).message}`);
  }
}

async function saveToken(dir: string, token: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CREDENTIALS_KEY), token, { mode: 0o600 });
}

function unknown(identity: Identity): string {
  return identity.toAbbreviatedHex();
}

function userName(user: User): string {
  return user.name ?? unknown(user.identity);
}

function printMessage(conn: DbConnection | EventContext, message: Message): void {
  const sender = conn.db.user.identity.find(message.sender);
  say(`${sender ? userName(sender) : unknown(message.sender)}: ${message.text}`);
}

function registerCallbacks(conn: DbConnection): void {
  conn.db.user.onInsert((ctx, user) => {
    if (user.online && ctx.event.tag !== 'SubscribeApplied') say(`User ${userName(user)} connected.`);
  });
  conn.db.user.onUpdate((_ctx, old, now) => {
    if (old.name !== now.name) say(`User ${userName(old)} renamed to ${userName(now)}.`);
    if (old.online && !now.online) say(`User ${userName(now)} disconnected.`);
    if (!old.online && now.online) say(`User ${userName(now)} connected.`);
  });
  conn.db.message.onInsert((ctx, message) => {
    const own = ctx.identity !== undefined && ctx.identity.isEqual(message.sender);
    if (ctx.event.tag !== 'SubscribeApplied' && !own) printMessage(ctx, message);
  });
}

/** Sends one line of input: `/name X` renames, anything else non-empty is a message. */
function sendLine(conn: DbConnection, line: string): Promise<void> | undefined {
  if (line === '') return undefined;
  const name = line === '/name' ? '' : line.startsWith('/name ') ? line.slice('/name '.length).trim() : undefined;
  const [what, call] =
    name !== undefined ? ['set the name', conn.reducers.setName({ name })] : ['send the message', conn.reducers.sendMessage({ text: line })];
  // A success prints nothing: its effects print as row events.
  return call.catch((e: unknown) => say(`Failed to ${what}: ${e instanceof Error ? e.message : String(e)}`));
}

async function run(options: Options): Promise<boolean> {
  const token = await loadToken(options.credentialsDir);
  let failed = false;
  // Set once standard input is being read, so a failed connection can stop reading it.
  let stopInput: () => void = () => {};
  let resolveEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  const conn = DbConnection.builder()
    .withUri(options.host)
    .withDatabaseName(options.db)
    .withToken(token)
    .onConnect((_conn, identity, newToken) => {
      saveToken(options.credentialsDir, newToken).catch((e: unknown) => console.error(`cannot save the token: ${String(e)}`));
      say(`Connected as ${identity.toAbbreviatedHex()}.`);
    })
    .onConnectError((_ctx, error) => {
      console.error(`Connection error: ${error.message}`);
      failed = true;
      stopInput();
      resolveEnded();
    })
    .withReconnect({ initialDelayMs: 200, maxDelayMs: 5_000 })
    .onReconnect(() => say('Reconnected.'))
    .onDisconnect((_ctx, error) => {
      say(error ? `Disconnected: ${error.message}` : 'Disconnected.');
      resolveEnded();
    })
    .build();

  registerCallbacks(conn);
  conn
    .subscriptionBuilder()
    .onApplied((ctx) => {
      const messages = [...ctx.db.message.iter()].sort((a, b) => Number(a.sent.microsSinceUnixEpoch - b.sent.microsSinceUnixEpoch));
      for (const message of messages) printMessage(conn, message);
      say('Fully connected and all subscriptions applied.');
      say('Use /name to set your name, or type a message!');
    })
    .onError((_ctx, error) => console.error(`Subscription failed: ${error.message}`))
    .subscribe(['SELECT * FROM user', 'SELECT * FROM message']);

  const pending: Promise<void>[] = [];
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  stopInput = () => input.close();
  for await (const raw of input) {
    const call = sendLine(conn, raw.trim());
    if (call !== undefined) pending.push(call);
  }
  // Wait for the answers (rejections were already reported), at most 10 s.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 10_000)));
  if ((await Promise.race([Promise.all(pending), timeout])) === 'timeout') console.error('Some calls were not answered within 10 s.');
  clearTimeout(timer);
  if (failed) return false;
  conn.disconnect();
  await ended;
  return !failed;
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\nusage: node dist/main.js [--host URL] [--db NAME] [--credentials-dir DIR]`);
    process.exitCode = 2;
    return;
  }
  try {
    process.exitCode = (await run(options)) ? 0 : 1;
  } catch (e) {
    console.error(`Error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

void main();
