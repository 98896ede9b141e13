/**
 * {@link DbConnectionBuilder}: the settings and callbacks of a new connection, made by the
 * generated `DbConnection.builder()`.
 */

import type { ConnectionConfig, DbConnectionImpl, RemoteModule } from './connection.js';
import type { ErrorContext } from './event.js';
import type { Compression } from './protocol.js';
import type { Identity } from './special.js';
import { defaultSocketFactory, parseBaseUri, ReconnectPolicy, SocketFactory, subscribeUrl } from './transport.js';

/** Builds a connection: `DbConnection.builder().withUri(..).withDatabaseName(..).onConnect(..).build()`. */
export class DbConnectionBuilder<DB, Reducers, Conn extends DbConnectionImpl<DB, Reducers, Procedures>, Procedures = unknown> {
  private uri: URL | undefined;
  private databaseName: string | undefined;
  private token: string | undefined;
  private compression: Compression = 'gzip';
  private confirmedReads: boolean | undefined;
  private reconnect: ReconnectPolicy | undefined;
  private socketFactory: SocketFactory = defaultSocketFactory;
  private connectCb: ((conn: Conn, identity: Identity, token: string) => void) | undefined;
  private reconnectCb: ((conn: Conn, identity: Identity, token: string) => void) | undefined;
  private connectErrorCb: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void) | undefined;
  private disconnectCb: ((ctx: ErrorContext<DB, Reducers, Procedures>, error: Error | undefined) => void) | undefined;

  /** @internal Use the generated `DbConnection.builder()`. */
  constructor(
    private readonly module: RemoteModule<DB, Reducers, Procedures>,
    private readonly make: (config: ConnectionConfig<DB, Reducers, Procedures>) => Conn,
  ) {}

  /**
   * The server, e.g. `http://localhost:3000` (`http`/`https` become `ws`/`wss`; no scheme means `ws`).
   *
   * @throws {TypeError} if `uri` is not a URL.
   */
  withUri(uri: string | URL): this {
    this.uri = parseBaseUri(uri);
    return this;
  }

  /** The database's name or identity. */
  withDatabaseName(name: string): this {
    this.databaseName = name;
    return this;
  }

  /** The token to connect with (from an earlier `onConnect`); none connects anonymously as a new identity. */
  withToken(token: string | undefined): this {
    this.token = token === '' ? undefined : token;
    return this;
  }

  /** What the server compresses large messages with: `gzip` (default), `brotli` (Node only) or `none`. */
  withCompression(compression: Compression): this {
    this.compression = compression;
    return this;
  }

  /** Whether updates wait until their transaction is durable (the server's default is yes). */
  withConfirmedReads(confirmed: boolean): this {
    this.confirmedReads = confirmed;
    return this;
  }

  /** Re-open a lost connection with backoff, resubscribing; without this, a lost connection ends. */
  withReconnect(policy: ReconnectPolicy = {}): this {
    this.reconnect = policy;
    return this;
  }

  /** @internal Replaces how sockets are opened (tests). */
  withSocketFactory(factory: SocketFactory): this {
    this.socketFactory = factory;
    return this;
  }

  /** Runs once the server accepted the connection; `token` is the one to save for reconnecting as the same identity. */
  onConnect(cb: (conn: Conn, identity: Identity, token: string) => void): this {
    this.connectCb = cb;
    return this;
  }

  /** Runs when the connection could not be made (or the module refused the client). */
  onConnectError(cb: (ctx: ErrorContext<DB, Reducers, Procedures>, error: Error) => void): this {
    this.connectErrorCb = cb;
    return this;
  }

  /** Runs when an established connection ends: `error` is undefined after `disconnect()`. */
  onDisconnect(cb: (ctx: ErrorContext<DB, Reducers, Procedures>, error: Error | undefined) => void): this {
    this.disconnectCb = cb;
    return this;
  }

  /** Runs after a lost connection was re-established and every subscription re-applied. */
  onReconnect(cb: (conn: Conn, identity: Identity, token: string) => void): this {
    this.reconnectCb = cb;
    return this;
  }

  /**
   * Starts connecting and returns the connection at once; `onConnect` or `onConnectError` follows.
   *
   * @throws {TypeError} if the URI or database name is missing, or the URI is not one a
   * connection can use (see `subscribeUrl`).
   */
  build(): Conn {
    if (this.uri === undefined) throw new TypeError('no server address: call withUri("http://localhost:3000") before build()');
    const url = subscribeUrl(this.uri, this.databaseName ?? '', this.compression, this.confirmedReads);
    const { connectCb, reconnectCb } = this;
    return this.make({
      module: this.module,
      url,
      token: this.token,
      reconnect: this.reconnect,
      socketFactory: this.socketFactory,
      // The runtime calls these with the connection it made, which is the `Conn` built here.
      onConnect: connectCb && ((conn, identity, token) => connectCb(conn as Conn, identity, token)),
      onReconnect: reconnectCb && ((conn, identity, token) => reconnectCb(conn as Conn, identity, token)),
      onConnectError: this.connectErrorCb,
      onDisconnect: this.disconnectCb,
    });
  }
}
