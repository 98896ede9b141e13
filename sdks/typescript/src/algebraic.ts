/**
 * Types as values: a {@link Type} knows how to write and read one kind of value as BSATN.
 * The combinators in {@link t} build them for every SATS type, so generated bindings and
 * the protocol messages describe their shapes as data and share one codec.
 *
 * How SATS values look in TypeScript:
 * - `bool` → `boolean`; 8-, 16- and 32-bit integers and floats → `number`;
 *   64-bit integers and wider → `bigint`;
 * - `String` → `string`; `Array<u8>` → `Uint8Array`; other arrays → `T[]`;
 * - a product → an object with its fields; a sum → a discriminated union
 *   `{ tag: 'Variant', value: payload }` (`{ tag: 'Variant' }` for a unit variant);
 * - `Option<T>` → `T | undefined` (and `{ some: T } | undefined` when `T` is itself an
 *   option, so the two levels stay apart); `Result<T, E>` → `{ tag: 'ok' | 'err', value }`;
 * - the special types → the classes of `special.ts`.
 */

import { BinaryReader, BinaryWriter, DecodeError } from './bsatn.js';
import { ConnectionId, Identity, ScheduleAt, TimeDuration, Timestamp, Uuid } from './special.js';

/** How values of type `T` are written and read as BSATN. */
export interface Type<T> {
  /** A short description for error messages (`u8`, `Option<String>`, `User`, …). */
  readonly name: string;
  /**
   * Writes `value`.
   *
   * @throws {RangeError} or {TypeError} if `value` does not fit the type.
   */
  serialize(writer: BinaryWriter, value: T): void;
  /**
   * Reads a value.
   *
   * @throws {DecodeError} if the bytes are not a value of the type.
   */
  deserialize(reader: BinaryReader): T;
}

/** The value type a {@link Type} describes. */
export type Infer<X> = X extends Type<infer T> ? T : never;

/** `{ some: T } | undefined`: an option whose payload is itself an option. */
export type NestedOption<T> = { some: T } | undefined;

/** `Result<T, E>` as a value. */
export type Result<T, E> = { tag: 'ok'; value: T } | { tag: 'err'; value: E };

/** The empty product as a value. */
export type Unit = Record<string, never>;

/** Encodes `value` as BSATN. */
export function encode<T>(type: Type<T>, value: T): Uint8Array {
  const w = new BinaryWriter();
  type.serialize(w, value);
  return w.toBytes();
}

/**
 * Decodes one value from `bytes`, which must hold exactly that value.
 *
 * @throws {DecodeError} if they do not.
 */
export function decode<T>(type: Type<T>, bytes: Uint8Array): T {
  const r = new BinaryReader(bytes);
  const value = type.deserialize(r);
  if (r.remaining !== 0) {
    throw new DecodeError(`${r.remaining} bytes are left over after a value of type ${type.name}`);
  }
  return value;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${String(v)} is not a ${name}: expected an integer from ${min} to ${max}`);
  }
  return v;
}

function checkBig(name: string, v: bigint, bits: number, signed: boolean): bigint {
  if (typeof v !== 'bigint') {
    throw new TypeError(`${String(v)} is not a ${name}: expected a bigint (write it as ${String(v)}n)`);
  }
  const fits = signed ? BigInt.asIntN(bits, v) === v : BigInt.asUintN(bits, v) === v;
  if (!fits) throw new RangeError(`${v} does not fit in a ${name}`);
  return v;
}

function smallInt(name: string, min: number, max: number, write: (w: BinaryWriter, v: number) => void, read: (r: BinaryReader) => number): Type<number> {
  return {
    name,
    serialize: (w, v) => write(w, checkInt(name, v, min, max)),
    deserialize: read,
  };
}

function bigInt(name: string, bits: number, signed: boolean): Type<bigint> {
  return {
    name,
    serialize(w, v) {
      checkBig(name, v, bits, signed);
      if (bits === 64) {
        if (signed) w.writeI64(v);
        else w.writeU64(v);
      } else {
        w.writeBigWord(v, bits / 8);
      }
    },
    deserialize(r) {
      if (bits === 64) return signed ? r.readI64() : r.readU64();
      return r.readBigWord(bits / 8, signed);
    },
  };
}

function float(name: string, write: (w: BinaryWriter, v: number) => void, read: (r: BinaryReader) => number): Type<number> {
  return {
    name,
    serialize(w, v) {
      if (typeof v !== 'number') throw new TypeError(`${String(v)} is not a ${name}: expected a number`);
      write(w, v);
    },
    deserialize: read,
  };
}

/** A type whose value is one number-like field, wrapped in a class. */
function wrapper<C>(name: string, inner: Type<bigint>, make: (v: bigint) => C, get: (c: C) => bigint, cls: abstract new (...args: never[]) => C): Type<C> {
  return {
    name,
    serialize(w, v) {
      if (!(v instanceof cls)) throw new TypeError(`expected a ${name}, got ${String(v)}`);
      inner.serialize(w, get(v));
    },
    deserialize: (r) => make(inner.deserialize(r)),
  };
}

const U8 = smallInt('u8', 0, 0xff, (w, v) => w.writeU8(v), (r) => r.readU8());
const I8 = smallInt('i8', -0x80, 0x7f, (w, v) => w.writeI8(v), (r) => r.readI8());
const U16 = smallInt('u16', 0, 0xffff, (w, v) => w.writeU16(v), (r) => r.readU16());
const I16 = smallInt('i16', -0x8000, 0x7fff, (w, v) => w.writeI16(v), (r) => r.readI16());
const U32 = smallInt('u32', 0, 0xffffffff, (w, v) => w.writeU32(v), (r) => r.readU32());
const I32 = smallInt('i32', -0x80000000, 0x7fffffff, (w, v) => w.writeI32(v), (r) => r.readI32());
const U64 = bigInt('u64', 64, false);
const I64 = bigInt('i64', 64, true);
const U128 = bigInt('u128', 128, false);
const I128 = bigInt('i128', 128, true);
const U256 = bigInt('u256', 256, false);
const I256 = bigInt('i256', 256, true);
const F32 = float('f32', (w, v) => w.writeF32(v), (r) => r.readF32());
const F64 = float('f64', (w, v) => w.writeF64(v), (r) => r.readF64());

const BOOL: Type<boolean> = {
  name: 'bool',
  serialize(w, v) {
    if (typeof v !== 'boolean') throw new TypeError(`${String(v)} is not a bool`);
    w.writeBool(v);
  },
  deserialize: (r) => r.readBool(),
};

const STRING: Type<string> = {
  name: 'String',
  serialize(w, v) {
    if (typeof v !== 'string') throw new TypeError(`${String(v)} is not a String`);
    w.writeString(v);
  },
  deserialize: (r) => r.readString(),
};

const BYTES: Type<Uint8Array> = {
  name: 'Array<u8>',
  serialize(w, v) {
    if (!(v instanceof Uint8Array)) throw new TypeError(`expected a Uint8Array for Array<u8>, got ${String(v)}`);
    w.writeByteArray(v);
  },
  // A copy, so a row never pins the whole message buffer it came in.
  deserialize: (r) => r.readByteArray().slice(),
};

const UNIT: Type<Unit> = {
  name: '()',
  serialize() {},
  deserialize: () => ({}),
};

const IDENTITY = wrapper('Identity', U256, (v) => new Identity(v), (c) => c.data, Identity);
const CONNECTION_ID = wrapper('ConnectionId', U128, (v) => new ConnectionId(v), (c) => c.data, ConnectionId);
const TIMESTAMP = wrapper('Timestamp', I64, (v) => new Timestamp(v), (c) => c.microsSinceUnixEpoch, Timestamp);
const TIME_DURATION = wrapper('TimeDuration', I64, (v) => new TimeDuration(v), (c) => c.micros, TimeDuration);
const UUID = wrapper('Uuid', U128, (v) => new Uuid(v), (c) => c.value, Uuid);

function array<T>(elem: Type<T>): Type<T[]> {
  return {
    name: `Array<${elem.name}>`,
    serialize(w, v) {
      if (!Array.isArray(v)) throw new TypeError(`expected an array for Array<${elem.name}>, got ${String(v)}`);
      w.writeU32(v.length);
      for (const x of v) elem.serialize(w, x);
    },
    deserialize(r) {
      const n = r.readU32();
      // Each element takes at least a byte or is a unit; a count beyond the data is corrupt.
      if (n > r.remaining && elem !== (UNIT as Type<unknown>)) {
        throw new DecodeError(`an Array<${elem.name}> claims ${n} elements but only ${r.remaining} bytes are left`);
      }
      const out: T[] = new Array<T>(n);
      for (let i = 0; i < n; i++) out[i] = elem.deserialize(r);
      return out;
    },
  };
}

function badTag(type: string, tag: number, count: number): DecodeError {
  return new DecodeError(`invalid tag ${tag} for ${type}: it has ${count} variants`);
}

/**
 * `Option<T>` (tag 0 some, 1 none) whose present values are `O`: `wrap` turns a payload
 * into one, `unwrap` takes the payload back out.
 */
function optionOf<T, O>(inner: Type<T>, wrap: (v: T) => O, unwrap: (v: O) => T): Type<O | undefined> {
  const name = `Option<${inner.name}>`;
  return {
    name,
    serialize(w, v) {
      if (v === undefined) {
        w.writeU8(1);
      } else {
        w.writeU8(0);
        inner.serialize(w, unwrap(v));
      }
    },
    deserialize(r) {
      const tag = r.readU8();
      if (tag === 0) return wrap(inner.deserialize(r));
      if (tag === 1) return undefined;
      throw badTag(name, tag, 2);
    },
  };
}

function option<T>(inner: Type<T>): Type<T | undefined> {
  return optionOf(inner, (v) => v, (v) => v);
}

function nestedOption<T>(inner: Type<T>): Type<NestedOption<T>> {
  return optionOf(inner, (v) => ({ some: v }), (v) => v.some);
}

type AnyVariant = { tag: string; value?: unknown };

/** A variant of a sum: its name and payload type (`null` for none). */
export type VariantDef = readonly [name: string, payload: Type<unknown> | null];

/** A field of a product: its name and type. */
export type FieldDef = readonly [name: string, type: Type<unknown>];

/** A struct's type, which also lists its fields (a table's row type is one). */
export interface ProductType<T> extends Type<T> {
  /** The fields in wire order. */
  readonly fields: readonly FieldDef[];
}

function sum<T>(name: string, variants: readonly VariantDef[]): Type<T> {
  const tags = new Map<string, number>(variants.map(([v], i) => [v, i]));
  return {
    name,
    serialize(w, value) {
      const v = value as unknown as AnyVariant;
      const tag = v !== null && typeof v === 'object' ? tags.get(v.tag) : undefined;
      if (tag === undefined) {
        const names = variants.map(([n]) => n).join(', ');
        throw new TypeError(`expected a ${name} ({ tag: ${names} }), got ${JSON.stringify(v?.tag ?? String(v))}`);
      }
      w.writeU8(tag);
      const payload = variants[tag]![1];
      if (payload !== null) payload.serialize(w, v.value);
    },
    deserialize(r) {
      const tag = r.readU8();
      const variant = variants[tag];
      if (variant === undefined) throw badTag(name, tag, variants.length);
      const [tagName, payload] = variant;
      const out: AnyVariant = payload === null ? { tag: tagName } : { tag: tagName, value: payload.deserialize(r) };
      return out as unknown as T;
    },
  };
}

function product<T>(name: string, fields: readonly FieldDef[]): ProductType<T> {
  return {
    name,
    fields,
    serialize(w, value) {
      if (value === null || typeof value !== 'object') throw new TypeError(`expected a ${name} object, got ${String(value)}`);
      const obj = value as unknown as Record<string, unknown>;
      for (const [field, type] of fields) {
        try {
          type.serialize(w, obj[field]);
        } catch (e) {
          if (e instanceof Error) e.message = `${name}.${field}: ${e.message}`;
          throw e;
        }
      }
    },
    deserialize(r) {
      const out: Record<string, unknown> = {};
      for (const [field, type] of fields) out[field] = type.deserialize(r);
      return out as T;
    },
  };
}

function lazy<T>(get: () => Type<T>): Type<T> {
  let cached: Type<T> | undefined;
  const resolve = (): Type<T> => (cached ??= get());
  return {
    get name() {
      return resolve().name;
    },
    serialize: (w, v) => resolve().serialize(w, v),
    deserialize: (r) => resolve().deserialize(r),
  };
}

const SCHEDULE_AT = sum<ScheduleAt>('ScheduleAt', [
  ['Interval', TIME_DURATION as Type<unknown>],
  ['Time', TIMESTAMP as Type<unknown>],
]);

/** The type combinators. Generated bindings describe every row, argument and type with them. */
export const t = {
  bool: (): Type<boolean> => BOOL,
  u8: (): Type<number> => U8,
  i8: (): Type<number> => I8,
  u16: (): Type<number> => U16,
  i16: (): Type<number> => I16,
  u32: (): Type<number> => U32,
  i32: (): Type<number> => I32,
  u64: (): Type<bigint> => U64,
  i64: (): Type<bigint> => I64,
  u128: (): Type<bigint> => U128,
  i128: (): Type<bigint> => I128,
  u256: (): Type<bigint> => U256,
  i256: (): Type<bigint> => I256,
  f32: (): Type<number> => F32,
  f64: (): Type<number> => F64,
  string: (): Type<string> => STRING,
  /** `Array<u8>`, as a `Uint8Array`. */
  bytes: (): Type<Uint8Array> => BYTES,
  /** The empty product `()`. */
  unit: (): Type<Unit> => UNIT,
  identity: (): Type<Identity> => IDENTITY,
  connectionId: (): Type<ConnectionId> => CONNECTION_ID,
  timestamp: (): Type<Timestamp> => TIMESTAMP,
  timeDuration: (): Type<TimeDuration> => TIME_DURATION,
  uuid: (): Type<Uuid> => UUID,
  scheduleAt: (): Type<ScheduleAt> => SCHEDULE_AT,
  array,
  option,
  /** An option whose payload is itself an option: `{ some: T } | undefined`. */
  nestedOption,
  result: <T, E>(ok: Type<T>, err: Type<E>): Type<Result<T, E>> =>
    sum<Result<T, E>>(`Result<${ok.name}, ${err.name}>`, [
      ['ok', ok as Type<unknown>],
      ['err', err as Type<unknown>],
    ]),
  /** A struct: its fields in wire order. `T` is the object type the fields make up. */
  product,
  /** An enum: its variants in tag order. `T` is the discriminated union they make up. */
  sum,
  /** A type that is looked up on first use, so types may refer to each other in any order. */
  lazy,
} as const;
