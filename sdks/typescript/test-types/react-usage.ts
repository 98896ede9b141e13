/**
 * Type-level check, compiled by `scripts/test-typescript.sh` with the freshly generated
 * chat bindings: the React hooks accept a generated `DbConnection` and give back typed
 * rows and reducers.
 */

import { createElement, type ReactElement } from 'react';
import { SpacetimeDBProvider, useReducer, useSpacetimeDB, useSubscription, useTable } from 'spacetime-sdk/react';
import { DbConnection, type RemoteReducers, type User } from '../bindings-check/quickstart-chat/index.js';

export function OnlineUsers(): ReactElement {
  const conn = useSpacetimeDB<DbConnection>();
  const { isApplied } = useSubscription(['SELECT * FROM user']);
  const users: readonly User[] = useTable(conn.db.user);
  const send = useReducer((r: RemoteReducers) => r.sendMessage);
  const onClick = (): void => void send.call({ text: 'hi' }).catch(() => undefined);
  return createElement('button', { onClick, disabled: !isApplied || send.pending }, `${users.length} users`);
}

export function App(conn: DbConnection): ReactElement {
  return createElement(SpacetimeDBProvider, { connection: conn }, createElement(OnlineUsers));
}
