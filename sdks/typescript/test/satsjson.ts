/**
 * Test helpers: a JSON reader that keeps every number's source text (the vectors hold
 * integers beyond 2^53), and the translation of SATS-JSON types and values into the SDK's
 * {@link Type}s and TypeScript values, so the shared vector files can be checked.
 */

import { ConnectionId, Identity, TimeDuration, Timestamp, Type, Uuid, t, fromHex } from '../src/index.js';

/** A JSON number, as written. */
export class Num {
  constructor(readonly text: string) {}
}

/** A JSON value whose numbers are {@link Num}s. */
export type Json = null | boolean | string | Num | Json[] | { [k: string]: Json };

/** Parses JSON text, keeping number literals as text. */
export function parseJson(text: string): Json {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [k: string]: Json } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') throw new Error(`object key expected at ${i}`);
        ws();
        i++; // ':'
        obj[key] = value();
        ws();
        if (text[i++] === '}') return obj;
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i++] === ']') return arr;
      }
    }
    if (c === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      return JSON.parse(text.slice(start, i)) as string;
    }
    const m = /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (m === null) throw new Error(`unexpected JSON at ${i}`);
    i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    return new Num(m[0]);
  };
  return value();
}

function obj(j: Json): { [k: string]: Json } {
  if (j === null || typeof j !== 'object' || Array.isArray(j) || j instanceof Num) throw new Error(`object expected: ${String(j)}`);
  return j;
}

function arr(j: Json): Json[] {
  if (!Array.isArray(j)) throw new Error('array expected');
  return j;
}

/** The single key and value of a one-key object (a SATS-JSON enum). */
function only(j: Json): [string, Json] {
  const entries = Object.entries(obj(j));
  if (entries.length !== 1) throw new Error('one key expected');
  return entries[0]!;
}

/** A SATS type, as far as the tests need to know it. */
export interface Model {
  type: Type<unknown>;
  /** The TypeScript value of a SATS-JSON value. */
  value(j: Json): unknown;
}

function elementName(e: Json): string {
  const [tag, name] = only(obj(e)['name']!);
  return tag === 'some' ? (name as string) : '';
}

const bigOf = (j: Json): bigint => {
  if (j instanceof Num) return BigInt(j.text);
  const s = j as string;
  return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
};
const numOf = (j: Json): number => Number((j as Num).text);

/** The model of a SATS-JSON `AlgebraicType`. */
export function model(typeJson: Json): Model {
  const [kind, body] = only(typeJson);
  const small = (type: Type<number>): Model => ({ type: type as Type<unknown>, value: numOf });
  const big = (type: Type<bigint>): Model => ({ type: type as Type<unknown>, value: bigOf });
  switch (kind) {
    case 'Bool':
      return { type: t.bool() as Type<unknown>, value: (j) => j };
    case 'U8': return small(t.u8());
    case 'I8': return small(t.i8());
    case 'U16': return small(t.u16());
    case 'I16': return small(t.i16());
    case 'U32': return small(t.u32());
    case 'I32': return small(t.i32());
    case 'F32': return { type: t.f32() as Type<unknown>, value: (j) => Math.fround(numOf(j)) };
    case 'F64': return small(t.f64());
    case 'U64': return big(t.u64());
    case 'I64': return big(t.i64());
    case 'U128': return big(t.u128());
    case 'I128': return big(t.i128());
    case 'U256': return big(t.u256());
    case 'I256': return big(t.i256());
    case 'String':
      return { type: t.string() as Type<unknown>, value: (j) => j };
    case 'Array': {
      if (only(body)[0] === 'U8') return { type: t.bytes() as Type<unknown>, value: (j) => fromHex(j as string) };
      const elem = model(body);
      return { type: t.array(elem.type), value: (j) => arr(j).map((x) => elem.value(x)) };
    }
    case 'Product': {
      const elements = arr(obj(body)['elements']!);
      const names = elements.map(elementName);
      const special = names.length === 1 ? names[0] : undefined;
      const inner = (j: Json): Json => obj(j)[special!]!;
      switch (special) {
        case '__identity__':
          return { type: t.identity() as Type<unknown>, value: (j) => new Identity(bigOf(inner(j))) };
        case '__connection_id__':
          return { type: t.connectionId() as Type<unknown>, value: (j) => new ConnectionId(bigOf(inner(j))) };
        case '__timestamp_micros_since_unix_epoch__':
          return { type: t.timestamp() as Type<unknown>, value: (j) => new Timestamp(bigOf(inner(j))) };
        case '__time_duration_micros__':
          return { type: t.timeDuration() as Type<unknown>, value: (j) => new TimeDuration(bigOf(inner(j))) };
        case '__uuid__':
          return { type: t.uuid() as Type<unknown>, value: (j) => new Uuid(bigOf(inner(j))) };
      }
      const fields = elements.map((e, i) => [names[i]!, model(obj(e)['algebraic_type']!)] as const);
      return {
        type: t.product('P', fields.map(([n, m]) => [n, m.type] as const)),
        value: (j) => Object.fromEntries(fields.map(([n, m]) => [n, m.value(obj(j)[n]!)])),
      };
    }
    case 'Sum': {
      const variants = arr(obj(body)['variants']!);
      const names = variants.map(elementName);
      const models = variants.map((v) => model(obj(v)['algebraic_type']!));
      const isUnit = variants.map((v) => {
        const [k, b] = only(obj(v)['algebraic_type']!);
        return k === 'Product' && arr(obj(b)['elements']!).length === 0;
      });
      if (names.join() === 'some,none') {
        const inner = models[0]!;
        const [innerKind, innerBody] = only(obj(variants[0]!)['algebraic_type']!);
        const nested = innerKind === 'Sum' && arr(obj(innerBody)['variants']!).map(elementName).join() === 'some,none';
        if (nested) {
          return {
            type: t.nestedOption(inner.type) as Type<unknown>,
            value: (j) => {
              const [tag, v] = only(j);
              return tag === 'some' ? { some: inner.value(v) } : undefined;
            },
          };
        }
        return {
          type: t.option(inner.type),
          value: (j) => {
            const [tag, v] = only(j);
            return tag === 'some' ? inner.value(v) : undefined;
          },
        };
      }
      if (names.join() === 'Interval,Time') {
        return {
          type: t.scheduleAt() as Type<unknown>,
          value: (j) => {
            const [tag, v] = only(j);
            return { tag, value: models[names.indexOf(tag)]!.value(v) };
          },
        };
      }
      return {
        type: t.sum('S', names.map((n, i) => [n, isUnit[i] ? null : models[i]!.type] as const)),
        value: (j) => {
          const [tag, v] = only(j);
          const i = names.indexOf(tag);
          return isUnit[i] ? { tag } : { tag, value: models[i]!.value(v) };
        },
      };
    }
    default:
      throw new Error(`unsupported type ${kind}`);
  }
}
