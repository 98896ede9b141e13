/**
 * The errors the SDK reports: a reducer that failed on purpose ({@link ReducerError}), a
 * procedure that failed ({@link ProcedureError}), a one-off query the server refused
 * ({@link QueryError}), a call the host could not run ({@link InternalError}), and a
 * connection that could not be made or was lost ({@link ConnectionError}).
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

/** A procedure failed in the host (it panicked, or could not run): `message` is the host's text. */
export class ProcedureError extends Error {
  override name = 'ProcedureError';
  /** The wire name of the procedure that failed. */
  readonly procedure: string;
  constructor(procedure: string, message: string) {
    super(message);
    this.procedure = procedure;
  }
}

/** The server refused a one-off query: `message` is its text (a parse, type or permission error). */
export class QueryError extends Error {
  override name = 'QueryError';
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
