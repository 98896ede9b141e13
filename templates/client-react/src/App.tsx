// The chat: who is online, the messages in the order they were sent, and forms to set your
// name and send a message. The SDK's hooks do the work: `useSubscription` keeps the rows in
// the client cache while the page is open, `useTable` re-renders when they change, and
// `useReducer` calls a reducer with its pending and error state.

import { useEffect, useState, type FormEvent } from 'react';
import type { Identity } from 'spacetime-sdk';
import { useReducer, useSpacetimeDB, useSubscription, useTable } from 'spacetime-sdk/react';
import type { DbConnection, RemoteReducers, User } from './module_bindings/index.js';

export function App() {
  const conn = useSpacetimeDB<DbConnection>();
  const { isApplied, error: subscriptionError } = useSubscription(['SELECT * FROM user', 'SELECT * FROM message']);
  const users = useTable(conn.db.user);
  const messages = useTable(conn.db.message);
  const setName = useReducer((r: RemoteReducers) => r.setName);
  const sendMessage = useReducer((r: RemoteReducers) => r.sendMessage);
  const [name, setNameText] = useState('');
  const [text, setText] = useState('');

  const nameOf = (identity: Identity): string =>
    users.find((u: User) => u.identity.isEqual(identity))?.name ?? identity.toAbbreviatedHex();
  const online = users.filter((u) => u.online);
  const sorted = [...messages].sort((a, b) => Number(a.sent.microsSinceUnixEpoch - b.sent.microsSinceUnixEpoch));
  const error = subscriptionError ?? setName.error ?? sendMessage.error;
  // `body[data-ready]` says the rows are in: what a browser test (or a script) waits for.
  useEffect(() => {
    document.body.dataset['ready'] = String(isApplied);
  }, [isApplied]);

  const onRename = (event: FormEvent) => {
    event.preventDefault();
    setName.call({ name: name.trim() }).catch(() => {});
  };
  const onSend = (event: FormEvent) => {
    event.preventDefault();
    sendMessage.call({ text }).then(() => setText(''), () => {});
  };

  return (
    <>
      <header>
        <h1>{'{{project_name}}'}</h1>
        <span id="status">{isApplied ? `Connected as ${conn.identity?.toAbbreviatedHex() ?? '…'}` : 'Connecting…'}</span>
      </header>
      <main>
        <section>
          <h2>Online</h2>
          <ul id="online">
            {online.map((u) => (
              <li key={u.identity.toHexString()}>
                {nameOf(u.identity)}
                {conn.identity?.isEqual(u.identity) ? ' (you)' : ''}
              </li>
            ))}
          </ul>
          <form id="name-form" onSubmit={onRename}>
            <input id="name" value={name} onChange={(e) => setNameText(e.target.value)} placeholder="Your name" />
            <button type="submit" disabled={setName.pending}>
              Set name
            </button>
          </form>
        </section>
        <section>
          <h2>Chat</h2>
          <ol id="messages">
            {sorted.map((m, i) => (
              <li key={i}>
                <span className="sender">{nameOf(m.sender)}:</span>
                {m.text}
              </li>
            ))}
          </ol>
          <form id="send-form" onSubmit={onSend}>
            <input id="text" value={text} onChange={(e) => setText(e.target.value)} placeholder="Type a message" />
            <button type="submit" disabled={sendMessage.pending}>
              Send
            </button>
          </form>
          <div id="error" role="alert">
            {error?.message}
          </div>
        </section>
      </main>
    </>
  );
}
