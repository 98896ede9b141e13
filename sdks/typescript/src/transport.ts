/**
 * The socket side of a connection: the subscribe URL ({@link subscribeUrl}), the
 * {@link Transport} that opens the WebSocket, batches outgoing messages, decodes frames in
 * arrival order and re-opens a lost socket with backoff ({@link ReconnectPolicy},
 * {@link reconnectDelayMs}), and the platform edges under it: opening a WebSocket (the
 * global one where the runtime has it, the `ws` package on Node 20) and decompressing the
 * server's frames (`DecompressionStream` for gzip everywhere; Node's zlib for brotli).
 * What the messages mean is the connection's business (`connection.ts`).
 *
 * The imports of `ws` and `node:zlib` are dynamic and computed, so a browser bundle never
 * includes them; they run only where there is no global WebSocket or brotli is asked for.
 */

import { ConnectionError, describe } from './errors.js';
import {
  ClientMessage,
  Compression,
  compressionQueryValue,
  decodeServerMessages,
  encodeClientMessages,
  ServerMessage,
  unwrapEnvelope,
} from './protocol.js';

/** The part of the WebSocket API a connection uses; the global `WebSocket` and `ws` both have it. */
export interface SocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Opens a socket to `url` offering `protocols`; `token`, if any, is the bearer token to present. */
export type SocketFactory = (url: URL, protocols: string[], token: string | undefined) => Promise<SocketLike>;

type SocketConstructor = new (url: string, protocols: string[], options?: { headers: Record<string, string> }) => SocketLike;

const wsModuleName = 'ws';
const zlibModuleName = 'node:zlib';

/**
 * The default socket factory. With a global `WebSocket` (browsers, Node 22+), which cannot
 * send headers, the token travels as `?token=`; with `ws` it is an `Authorization` header.
 */
export const defaultSocketFactory: SocketFactory = async (url, protocols, token) => {
  const global = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (global !== undefined) {
    if (token !== undefined) url.searchParams.set('token', token);
    return new global(url.toString(), protocols);
  }
  let mod: { default?: SocketConstructor; WebSocket?: SocketConstructor };
  try {
    mod = (await import(/* @vite-ignore */ wsModuleName)) as typeof mod;
  } catch {
    throw new Error('this runtime has no global WebSocket and the `ws` package cannot be loaded: install it with `npm install ws`');
  }
  const WS = mod.WebSocket ?? mod.default;
  if (WS === undefined) throw new Error('the `ws` package has no WebSocket export; install ws 8 or newer');
  const headers: Record<string, string> = token !== undefined ? { Authorization: `Bearer ${token}` } : {};
  return new WS(url.toString(), protocols, { headers });
};

async function viaStream(format: 'gzip', body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

interface Zlib {
  brotliDecompressSync(body: Uint8Array): Uint8Array;
}

/**
 * Decompresses a server frame body.
 *
 * @throws {Error} for brotli where the runtime has no zlib (browsers: ask for gzip).
 */
export async function decompress(algorithm: 'gzip' | 'brotli', body: Uint8Array): Promise<Uint8Array> {
  if (algorithm === 'gzip') return viaStream('gzip', body);
  let zlib: Zlib;
  try {
    zlib = (await import(/* @vite-ignore */ zlibModuleName)) as Zlib;
  } catch {
    throw new Error("the server sent a brotli frame, which this runtime cannot decompress: connect with withCompression('gzip') or 'none'");
  }
  return new Uint8Array(zlib.brotliDecompressSync(body));
}

/** Bytes of a message event's data (an `ArrayBuffer`, a typed array, or a Node `Buffer`). */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

// --- the subscribe URL ------------------------------------------------------------------

/**
 * Parses the server's base address; one without a scheme (`localhost:3000`) means `ws://`.
 *
 * @throws {TypeError} if `uri` is not a URL.
 */
export function parseBaseUri(uri: string | URL): URL {
  const text = uri.toString();
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ws://${text}`);
  } catch {
    throw new TypeError(`${JSON.stringify(text)} is not a URL; pass the server's address, e.g. http://localhost:3000`);
  }
}

/** Percent-encodes `text`'s UTF-8 bytes, all but `A-Z a-z 0-9 - _ .`, with upper-case hex. */
function encodePathSegment(text: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The WebSocket URL a connection opens: `uri` with `http` (or no scheme) as `ws` and
 * `https` as `wss`, its path kept as a prefix, then `/v1/database/<database>/subscribe`
 * with the compression and, if set, the confirmed-reads flag. The cases every SDK agrees on
 * are `protocol/tests/vectors/subscribe_url.json`.
 *
 * @throws {TypeError} for an address that is not a URL, has a scheme other than http, https,
 * ws or wss, or has a query or fragment, and for an empty database name.
 */
export function subscribeUrl(uri: string | URL, databaseName: string, compression: Compression, confirmedReads: boolean | undefined): string {
  const base = parseBaseUri(uri);
  const scheme = { 'http:': 'ws', 'ws:': 'ws', 'https:': 'wss', 'wss:': 'wss' }[base.protocol];
  if (scheme === undefined) {
    throw new TypeError(`unsupported URI scheme \`${base.protocol.replace(/:$/, '')}\`: use http, https, ws or wss`);
  }
  if (base.search !== '' || base.hash !== '') {
    throw new TypeError(`the URI ${JSON.stringify(uri.toString())} has a query or fragment; give the server's base URI only`);
  }
  if (databaseName === '') throw new TypeError('no database: call withDatabaseName("my-database") before build()');
  const prefix = base.pathname.replace(/\/+$/, '');
  let url = `${scheme}://${base.host}${prefix}/v1/database/${encodePathSegment(databaseName)}/subscribe?compression=${compressionQueryValue(compression)}`;
  if (confirmedReads !== undefined) url += `&confirmed=${String(confirmedReads)}`;
  return url;
}

// --- reconnect --------------------------------------------------------------------------

/** How a dropped connection is re-established: after `n` failed attempts in a row, the next waits `initialDelayMs * 2^n`, at most `maxDelayMs`. */
export interface ReconnectPolicy {
  /** The delay before the first attempt (default 500 ms). */
  initialDelayMs?: number;
  /** The longest delay between attempts (default 30 s). */
  maxDelayMs?: number;
  /** Give up (and run `onDisconnect` with the error) after this many failed attempts in a row; unset retries forever. */
  maxAttempts?: number;
}

/** The policy every Spacetime SDK uses by default (`protocol/tests/vectors/reconnect.json`). */
export const DEFAULT_RECONNECT_POLICY: Readonly<{ initialDelayMs: number; maxDelayMs: number; maxAttempts: number | undefined }> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxAttempts: undefined,
});

/** The delay before the next attempt after `failures` failed ones: `min(initial * 2^failures, max)`, with the defaults for unset fields. */
export function reconnectDelayMs(policy: ReconnectPolicy, failures: number): number {
  const initial = policy.initialDelayMs ?? DEFAULT_RECONNECT_POLICY.initialDelayMs;
  const max = policy.maxDelayMs ?? DEFAULT_RECONNECT_POLICY.maxDelayMs;
  // 2 ** failures is Infinity for large counts; 0 * Infinity would be NaN.
  if (initial === 0) return 0;
  return Math.min(initial * 2 ** failures, max);
}

// --- the transport ----------------------------------------------------------------------

/** What a {@link Transport} tells the connection. */
export interface TransportEvents {
  /** A socket opened; `queued` are the messages about to go out on it. */
  opened(queued: readonly ClientMessage[]): void;
  /** A server message, in arrival order; throwing ends the socket as a protocol error. */
  message(message: ServerMessage): void;
  /** The socket is gone; with `willRetry` a new one opens after the backoff. */
  closed(error: Error | undefined, willRetry: boolean): void;
}

/** Where and how a {@link Transport} connects. */
export interface TransportConfig {
  /** The subscribe URL ({@link subscribeUrl}). */
  url: string;
  socketFactory: SocketFactory;
  /** Re-open lost sockets with this policy; none ends the connection when the socket goes. */
  reconnect: ReconnectPolicy | undefined;
  /** The token to present on each (re)connect. */
  token(): string | undefined;
}

const PROTOCOLS = ['v3.bsatn.spacetimedb', 'v2.bsatn.spacetimedb'];

/**
 * The socket of one connection and its replacements. Messages sent in the same tick share
 * one v3 frame; frames are decoded strictly in arrival order (decompression may be
 * asynchronous). A socket lost after the server accepted the connection ({@link accepted})
 * is re-opened with backoff while a reconnect policy allows; the queue of unsent messages
 * is dropped with the socket that was accepted, and kept across failed attempts after it.
 */
export class Transport {
  private socket: SocketLike | undefined;
  private framing: 'v2' | 'v3' = 'v2';
  private outgoing: ClientMessage[] = [];
  private flushScheduled = false;
  private frames: Promise<void> = Promise.resolve();
  private failures = 0;
  private everAccepted = false;
  private retrying = false;
  private userClosed = false;
  private stopped = false;

  constructor(
    private readonly config: TransportConfig,
    private readonly events: TransportEvents,
  ) {}

  /** Opens the first socket. */
  start(): void {
    void this.open();
  }

  /** Whether a socket is open, so what is sent now goes out in this tick. */
  get isOpen(): boolean {
    return this.socket !== undefined && this.socket.readyState === 1;
  }

  /** Queues `message`; it goes out at the end of this tick if a socket is open, else once one opens. */
  send(message: ClientMessage): void {
    this.outgoing.push(message);
    if (!this.isOpen || this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flushNow());
  }

  /** Takes back the queued messages that `which` selects, so they are never sent. */
  unqueue(which: (message: ClientMessage) => boolean): void {
    this.outgoing = this.outgoing.filter((m) => !which(m));
  }

  /** The server accepted the connection: a later loss is retried, from the first delay. */
  accepted(): void {
    this.everAccepted = true;
    this.retrying = false;
    this.failures = 0;
  }

  /** Sends what is queued and closes the socket; `closed` follows without an error. */
  close(): void {
    this.userClosed = true;
    const socket = this.socket;
    if (socket !== undefined && socket.readyState <= 1) {
      this.flushNow();
      socket.close(1000, 'client disconnected');
    } else {
      this.events.closed(undefined, false);
    }
  }

  /** Stops for good: nothing more is sent, and no socket is opened again. */
  stop(): void {
    this.stopped = true;
    this.outgoing = [];
  }

  private async open(): Promise<void> {
    const url = new URL(this.config.url);
    let socket: SocketLike;
    try {
      socket = await this.config.socketFactory(url, PROTOCOLS, this.config.token());
    } catch (e) {
      this.socketClosed(new ConnectionError(`cannot open a WebSocket to ${url.origin}: ${describe(e)}`));
      return;
    }
    if (this.stopped) {
      socket.close(1000);
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    let socketError: Error | undefined;
    socket.onopen = () => {
      this.framing = socket.protocol === 'v3.bsatn.spacetimedb' ? 'v3' : 'v2';
      this.events.opened(this.outgoing);
      this.flushNow();
    };
    socket.onmessage = (event) => {
      const bytes = messageBytes(event.data);
      if (bytes === undefined) {
        this.fail(socket, new ConnectionError('the server sent a text frame; this client speaks only the binary v2/v3 protocol'));
        return;
      }
      const copy = bytes.slice();
      this.frames = this.frames.then(() => this.handleFrame(socket, copy));
    };
    socket.onerror = (event) => {
      const message = (event as { message?: unknown }).message;
      socketError = new ConnectionError(typeof message === 'string' && message !== '' ? message : `the WebSocket to ${url.origin} failed`);
    };
    socket.onclose = (event) => {
      // Let frames that arrived before the close finish first.
      this.frames = this.frames.then(() => {
        if (this.socket !== socket) return;
        this.socket = undefined;
        const clean = event.code === 1000 || this.userClosed;
        const error = clean
          ? undefined
          : (socketError ?? new ConnectionError(`the connection closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''})`));
        this.socketClosed(error);
      });
    };
  }

  private fail(socket: SocketLike, error: Error): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    socket.onclose = null;
    // Browsers accept only 1000 and 3000-4999 from a client.
    socket.close(4000, 'protocol error');
    this.socketClosed(error);
  }

  private flushNow(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== 1 || this.outgoing.length === 0) return;
    const batch = this.outgoing;
    this.outgoing = [];
    if (this.framing === 'v3') socket.send(encodeClientMessages(batch));
    else for (const m of batch) socket.send(encodeClientMessages([m]));
  }

  private async handleFrame(socket: SocketLike, payload: Uint8Array): Promise<void> {
    if (this.socket !== socket) return;
    let messages: ServerMessage[];
    try {
      messages = decodeServerMessages(await unwrapEnvelope(payload, decompress), this.framing);
    } catch (e) {
      this.fail(socket, new ConnectionError(`cannot read a message from the server: ${describe(e)}`));
      return;
    }
    for (const message of messages) {
      if (this.socket !== socket) return;
      try {
        this.events.message(message);
      } catch (e) {
        this.fail(socket, e instanceof Error ? e : new ConnectionError(String(e)));
        return;
      }
    }
  }

  private socketClosed(error: Error | undefined): void {
    if (this.stopped) return;
    if (this.userClosed) {
      this.events.closed(undefined, false);
      return;
    }
    const policy = this.config.reconnect;
    if (policy === undefined || !this.everAccepted) {
      this.events.closed(error, false);
      return;
    }
    // A socket opened while retrying failed before the server accepted it.
    if (this.retrying) this.failures += 1;
    if (policy.maxAttempts !== undefined && this.failures >= policy.maxAttempts) {
      this.events.closed(error ?? new ConnectionError('the connection was lost and could not be re-established'), false);
      return;
    }
    if (!this.retrying) {
      // Sent on the lost socket, or meant for it: the connection re-plans what to send.
      this.outgoing = [];
      this.retrying = true;
    }
    this.events.closed(error, true);
    setTimeout(() => {
      if (!this.stopped) void this.open();
    }, reconnectDelayMs(policy, this.failures));
  }
}
