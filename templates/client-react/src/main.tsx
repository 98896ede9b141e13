// The chat page's entry: connects to the database once (the server and database come from
// the page's `?host=` and `?db=` parameters, defaulting to http://localhost:3000 and
// {{database}}), keeps the token in localStorage, and renders <App> under the SDK's
// provider so its hooks see the connection.
//
// `npm install && npm run dev`, then open the URL Vite prints. Regenerate
// `src/module_bindings` after changing the module with `spacetime generate` in the project
// directory.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SpacetimeDBProvider } from 'spacetime-sdk/react';
import { App } from './App.js';
import { DbConnection } from './module_bindings/index.js';

const params = new URLSearchParams(window.location.search);
const host = params.get('host') ?? 'http://localhost:3000';
const db = params.get('db') ?? '{{database}}';
const tokenKey = `spacetime-token:${host}:${db}`;

const conn = DbConnection.builder()
  .withUri(host)
  .withDatabaseName(db)
  .withToken(localStorage.getItem(tokenKey) ?? undefined)
  .onConnect((_conn, _identity, token) => localStorage.setItem(tokenKey, token))
  .onConnectError((_ctx, error) => console.error(`cannot connect to ${db} at ${host}:`, error))
  .build();

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <SpacetimeDBProvider connection={conn}>
      <App />
    </SpacetimeDBProvider>
  </StrictMode>,
);
