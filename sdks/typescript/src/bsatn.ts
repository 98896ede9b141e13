/**
 * BSATN, the binary form of every value on the wire: a growable little-endian
 * {@link BinaryWriter} and a bounds-checked {@link BinaryReader}. Products are their fields
 * in order, sums a `u8` tag then the payload, strings and arrays a `u32` length then the
 * contents. Which value has which shape is the business of `algebraic.ts`.
 */

/** A value did not decode: the bytes end early, or a tag or string is invalid. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const U64_MASK = (1n << 64n) - 1n;

/** Appends BSATN to a buffer that grows as needed. */
export class BinaryWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  /** A writer with room for `capacity` bytes before it first grows. */
  constructor(capacity = 64) {
    this.buf = new Uint8Array(Math.max(capacity, 8));
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < at + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, at));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.len += n;
    return at;
  }

  /** The bytes written so far (a copy, so the writer may go on). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  writeBool(v: boolean): void {
    this.writeU8(v ? 1 : 0);
  }
  writeU8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  writeI8(v: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
  }
  writeU16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  writeI16(v: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
  }
  writeU32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  writeI32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
  }
  writeU64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, v, true);
  }
  writeI64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, v, true);
  }
  writeF32(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  writeF64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  /** An unsigned integer of `bytes` bytes (16 or 32); negative values are written in two's complement. */
  writeBigWord(v: bigint, bytes: number): void {
    let rest = BigInt.asUintN(bytes * 8, v);
    for (let i = 0; i < bytes / 8; i++) {
      this.writeU64(rest & U64_MASK);
      rest >>= 64n;
    }
  }
  /** Raw bytes, no length prefix. */
  writeRaw(bytes: Uint8Array): void {
    // Reserve first: it may replace `buf`.
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }
  /** A `u32` length, then the bytes. */
  writeByteArray(bytes: Uint8Array): void {
    this.writeU32(bytes.length);
    this.writeRaw(bytes);
  }
  /** A `u32` byte length, then the UTF-8 text. */
  writeString(s: string): void {
    this.writeByteArray(utf8Encoder.encode(s));
  }
}

/** Reads BSATN from a byte array, failing with a {@link DecodeError} at the end of the data. */
export class BinaryReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** How many bytes are left. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** The read position. */
  get offset(): number {
    return this.pos;
  }

  private take(n: number): number {
    if (this.pos + n > this.bytes.length) {
      throw new DecodeError(
        `the data ends early: ${n} more bytes needed at offset ${this.pos}, but only ${this.bytes.length - this.pos} are left`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  readBool(): boolean {
    const b = this.readU8();
    if (b > 1) throw new DecodeError(`invalid bool byte ${b} at offset ${this.pos - 1}: expected 0 or 1`);
    return b === 1;
  }
  readU8(): number {
    return this.view.getUint8(this.take(1));
  }
  readI8(): number {
    return this.view.getInt8(this.take(1));
  }
  readU16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  readI16(): number {
    return this.view.getInt16(this.take(2), true);
  }
  readU32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  readI32(): number {
    return this.view.getInt32(this.take(4), true);
  }
  readU64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }
  readI64(): bigint {
    return this.view.getBigInt64(this.take(8), true);
  }
  readF32(): number {
    return this.view.getFloat32(this.take(4), true);
  }
  readF64(): number {
    return this.view.getFloat64(this.take(8), true);
  }
  /** An integer of `bytes` bytes (16 or 32), `signed` in two's complement. */
  readBigWord(bytes: number, signed: boolean): bigint {
    let v = 0n;
    for (let i = 0; i < bytes / 8; i++) {
      v |= this.readU64() << BigInt(64 * i);
    }
    return signed ? BigInt.asIntN(bytes * 8, v) : v;
  }
  /** `n` raw bytes (a view into the input, not a copy). */
  readRaw(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }
  /** A `u32` length, then that many bytes. */
  readByteArray(): Uint8Array {
    return this.readRaw(this.readU32());
  }
  /** A `u32` byte length, then UTF-8 text. */
  readString(): string {
    const at = this.pos;
    const bytes = this.readByteArray();
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new DecodeError(`the string at offset ${at} is not valid UTF-8`);
    }
  }
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * The bytes of a hex string.
 *
 * @throws {RangeError} if `hex` has an odd length or a character that is not a hex digit.
 */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new RangeError(`not a hex string: ${JSON.stringify(hex)} (expected an even number of 0-9a-f digits)`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * A string that stands for `bytes` exactly, for use as a `Map` key (one character per byte).
 */
export function bytesKey(bytes: Uint8Array): string {
  // `apply` with the typed array itself is several times faster than a spread; chunks keep
  // the argument count well under engines' limits.
  const chunk = 8192;
  if (bytes.length <= chunk) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = '';
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk) as unknown as number[]);
  }
  return s;
}
