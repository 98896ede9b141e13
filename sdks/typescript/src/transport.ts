/**
 * The platform edges of a connection: opening a WebSocket (the global one where the
 * runtime has it, the `ws` package on Node 20) and decompressing the server's frames
 * (`DecompressionStream` for gzip everywhere; Node's zlib for brotli).
 *
 * The imports of `ws` and `node:zlib` are dynamic and computed, so a browser bundle never
 * includes them; they run only where there is no global WebSocket or brotli is asked for.
 */

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
