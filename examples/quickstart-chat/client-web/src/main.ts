/**
 * The chat page: connects to the chat database (the server and database come from the
 * page's `?host=` and `?db=` parameters, defaulting to `http://localhost:3000` and
 * `quickstart-chat`), keeps its token in `localStorage`, subscribes to every user and
 * message, and shows who is online and the chat; the forms rename and send.
 *
 * The page re-renders both lists from the client cache after each change, which is plenty
 * for a chat.
 */

import type { Identity } from 'spacetime-sdk';
import { DbConnection, type Message, type User } from './module_bindings/index.js';

const params = new URLSearchParams(window.location.search);
const host = params.get('host') ?? 'http://localhost:3000';
const db = params.get('db') ?? 'quickstart-chat';
const tokenKey = `spacetime-chat-token:${host}:${db}`;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

const status = element<HTMLSpanElement>('status');
const online = element<HTMLUListElement>('online');
const messages = element<HTMLOListElement>('messages');
const errorBox = element<HTMLDivElement>('error');
const nameInput = element<HTMLInputElement>('name');
const textInput = element<HTMLInputElement>('text');

function nameOf(identity: Identity): string {
  const user = conn.db.user.identity.find(identity);
  return user?.name ?? identity.toAbbreviatedHex();
}

function showError(e: unknown): void {
  errorBox.textContent = e instanceof Error ? e.message : String(e);
}

function render(): void {
  const users: User[] = [...conn.db.user.iter()].filter((u) => u.online).sort((a, b) => nameOf(a.identity).localeCompare(nameOf(b.identity)));
  online.replaceChildren(
    ...users.map((u) => {
      const li = document.createElement('li');
      li.textContent = nameOf(u.identity);
      if (conn.identity?.isEqual(u.identity)) li.textContent += ' (you)';
      return li;
    }),
  );
  const all: Message[] = [...conn.db.message.iter()].sort((a, b) => Number(a.sent.microsSinceUnixEpoch - b.sent.microsSinceUnixEpoch));
  messages.replaceChildren(
    ...all.map((m) => {
      const li = document.createElement('li');
      const sender = document.createElement('span');
      sender.className = 'sender';
      sender.textContent = `${nameOf(m.sender)}:`;
      li.append(sender, document.createTextNode(m.text));
      return li;
    }),
  );
  messages.scrollTop = messages.scrollHeight;
}

const conn = DbConnection.builder()
  .withUri(host)
  .withDatabaseName(db)
  .withToken(localStorage.getItem(tokenKey) ?? undefined)
  .withCompression('gzip')
  .onConnect((_conn, identity, token) => {
    localStorage.setItem(tokenKey, token);
    status.textContent = `Connected as ${identity.toAbbreviatedHex()}`;
  })
  .onConnectError((_ctx, error) => {
    status.textContent = 'Not connected';
    showError(error);
  })
  .onDisconnect((_ctx, error) => {
    status.textContent = 'Disconnected';
    if (error !== undefined) showError(error);
  })
  .build();

conn.db.user.onInsert(render);
conn.db.user.onUpdate(render);
conn.db.user.onDelete(render);
conn.db.message.onInsert(render);
conn.db.message.onDelete(render);
conn
  .subscriptionBuilder()
  .onApplied(() => {
    document.body.dataset['ready'] = 'true';
    render();
  })
  .onError((_ctx, error) => showError(error))
  .subscribe(['SELECT * FROM user', 'SELECT * FROM message']);

element<HTMLFormElement>('name-form').addEventListener('submit', (event) => {
  event.preventDefault();
  errorBox.textContent = '';
  conn.reducers.setName({ name: nameInput.value.trim() }).then(render, showError);
});

element<HTMLFormElement>('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  errorBox.textContent = '';
  const text = textInput.value;
  conn.reducers.sendMessage({ text }).then(() => (textInput.value = ''), showError);
});
