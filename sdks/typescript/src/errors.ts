/**
 * The errors the SDK reports: a reducer that failed on purpose ({@link ReducerError}), a
 * call the host could not run ({@link InternalError}), and a connection that could not be
 * made or was lost ({@link ConnectionError}).
 */

/** A reducer returned an error: `message` is the text it returned. */
export class ReducerError extends Error {
  override name = 'ReducerError';
  /** The wire name of the reducer that failed. */
  readonly reducer: string;
  constructor(reducer: string, message: string) {
    super(message);
    this.reducer = reducer;
  }
}

/**
 * The host could not run a call (a panic, a reducer that does not exist, bad arguments, out
 * of energy), or the connection ended before its result arrived.
 */
export class InternalError extends Error {
  override name = 'InternalError';
}

/** The connection could not be made, was refused, or broke. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

/** The text of an unknown thrown value. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
