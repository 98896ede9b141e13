/**
 * The special types of the SATS type system as client values: {@link Identity} (u256),
 * {@link ConnectionId} (u128), {@link Timestamp} and {@link TimeDuration} (i64 microseconds),
 * {@link Uuid} (u128) and {@link ScheduleAt}. Each wraps a `bigint`, compares with
 * `isEqual`, and prints as the server prints it (big-endian hex for ids).
 */

function hexOf(value: bigint, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, '0');
}

function parseHex(kind: string, hex: string, bytes: number): bigint {
  const clean = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (clean.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(clean)) {
    throw new RangeError(`not a ${kind}: ${JSON.stringify(hex)} (expected ${bytes * 2} hex digits)`);
  }
  return BigInt('0x' + clean);
}

/** Who a client is: a 256-bit number, shown as 64 big-endian hex digits. */
export class Identity {
  /** The identity as an unsigned 256-bit integer. */
  readonly data: bigint;
  constructor(data: bigint) {
    this.data = BigInt.asUintN(256, data);
  }
  /** The all-zeros identity. */
  static zero(): Identity {
    return new Identity(0n);
  }
  /**
   * Parses 64 hex digits, with or without `0x`.
   *
   * @throws {RangeError} if `hex` is not 64 hex digits.
   */
  static fromHexString(hex: string): Identity {
    return new Identity(parseHex('identity', hex, 32));
  }
  /** The 64-digit big-endian hex form. */
  toHexString(): string {
    return hexOf(this.data, 32);
  }
  /** The first 16 hex digits, a short form for display. */
  toAbbreviatedHex(): string {
    return this.toHexString().slice(0, 16);
  }
  /** Whether both are the same identity. */
  isEqual(other: Identity): boolean {
    return this.data === other.data;
  }
  toString(): string {
    return this.toHexString();
  }
}

/** One connection of a client: a 128-bit number, shown as 32 big-endian hex digits. */
export class ConnectionId {
  /** The id as an unsigned 128-bit integer. */
  readonly data: bigint;
  constructor(data: bigint) {
    this.data = BigInt.asUintN(128, data);
  }
  /**
   * Parses 32 hex digits, with or without `0x`.
   *
   * @throws {RangeError} if `hex` is not 32 hex digits.
   */
  static fromHexString(hex: string): ConnectionId {
    return new ConnectionId(parseHex('connection id', hex, 16));
  }
  /** Whether this is the all-zeros id, which means "no connection". */
  isZero(): boolean {
    return this.data === 0n;
  }
  /** The 32-digit big-endian hex form. */
  toHexString(): string {
    return hexOf(this.data, 16);
  }
  /** The first 16 hex digits, a short form for display. */
  toAbbreviatedHex(): string {
    return this.toHexString().slice(0, 16);
  }
  /** Whether both are the same id. */
  isEqual(other: ConnectionId): boolean {
    return this.data === other.data;
  }
  toString(): string {
    return this.toHexString();
  }
}

/** A point in time: microseconds since the Unix epoch (negative before it). */
export class Timestamp {
  constructor(readonly microsSinceUnixEpoch: bigint) {}
  /** The Unix epoch. */
  static readonly UNIX_EPOCH = new Timestamp(0n);
  /** The current time, to the millisecond. */
  static now(): Timestamp {
    return Timestamp.fromDate(new Date());
  }
  /** The time of `date`. */
  static fromDate(date: Date): Timestamp {
    return new Timestamp(BigInt(date.getTime()) * 1000n);
  }
  /** This time as a `Date` (to the millisecond). */
  toDate(): Date {
    return new Date(Number(this.microsSinceUnixEpoch / 1000n));
  }
  /** Whether both are the same time. */
  isEqual(other: Timestamp): boolean {
    return this.microsSinceUnixEpoch === other.microsSinceUnixEpoch;
  }
  toString(): string {
    return this.toDate().toISOString();
  }
}

/** A span of time in microseconds (may be negative). */
export class TimeDuration {
  constructor(readonly micros: bigint) {}
  /** A duration of `ms` milliseconds. */
  static fromMillis(ms: number): TimeDuration {
    return new TimeDuration(BigInt(Math.round(ms * 1000)));
  }
  /** The duration in milliseconds. */
  get millis(): number {
    return Number(this.micros) / 1000;
  }
  /** Whether both are the same duration. */
  isEqual(other: TimeDuration): boolean {
    return this.micros === other.micros;
  }
  toString(): string {
    return `${this.micros}µs`;
  }
}

/** A UUID: a 128-bit number, shown in the 8-4-4-4-12 hex form. */
export class Uuid {
  /** The UUID as an unsigned 128-bit integer. */
  readonly value: bigint;
  constructor(value: bigint) {
    this.value = BigInt.asUintN(128, value);
  }
  /**
   * Parses the 8-4-4-4-12 form (or 32 bare hex digits).
   *
   * @throws {RangeError} if `text` is neither.
   */
  static parse(text: string): Uuid {
    return new Uuid(parseHex('uuid', text.replace(/-/g, ''), 16));
  }
  /** Whether both are the same UUID. */
  isEqual(other: Uuid): boolean {
    return this.value === other.value;
  }
  toString(): string {
    const h = hexOf(this.value, 16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** When a scheduled reducer runs: repeatedly at an interval, or once at a time. */
export type ScheduleAt = { tag: 'Interval'; value: TimeDuration } | { tag: 'Time'; value: Timestamp };
