// The shared BSATN vectors (sats/tests/vectors/bsatn.json, produced by SpacetimeDB 2.10.1):
// each value, read from its SATS-JSON with its type, must encode through BsatnWriter to
// exactly the recorded bytes, and the bytes must decode through BsatnReader back to the
// value. The special types are checked once more through their SDK structs.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Numerics;

namespace SpacetimeDB.Tests
{
    public static class BsatnVectorTests
    {
        /// <summary>A product value: fields in order.</summary>
        sealed class Prod { public List<object> Fields = new List<object>(); }
        /// <summary>A sum value: tag and payload.</summary>
        sealed class SumV { public int Tag; public object Payload; }

        static string RepoFile(string path)
        {
            var root = Environment.GetEnvironmentVariable("SPACETIME_REPO") ?? Path.Combine("..", "..");
            return Path.Combine(root, path);
        }

        static List<object> Cases()
        {
            return (List<object>)Json.Parse(File.ReadAllText(RepoFile("sats/tests/vectors/bsatn.json")));
        }

        static KeyValuePair<string, object> Only(object o)
        {
            var kvs = (List<KeyValuePair<string, object>>)o;
            if (kvs.Count != 1) throw new FormatException("expected one key");
            return kvs[0];
        }

        static List<KeyValuePair<string, object>> Members(object type)
        {
            var elements = (List<object>)Only(Only(type).Value).Value;
            return elements.Select(e => new KeyValuePair<string, object>(
                (string)Json.Get(Json.Get(e, "name"), "some"), Json.Get(e, "algebraic_type"))).ToList();
        }

        static BigInteger Integer(object json)
        {
            var n = json as JsonNumber;
            if (n != null) return BigInteger.Parse(n.Text, CultureInfo.InvariantCulture);
            var s = (string)json;
            bool neg = s.StartsWith("-");
            var digits = s.Substring(neg ? 3 : 2);
            var v = BigInteger.Parse("0" + digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return neg ? -v : v;
        }

        static double Float(object json)
        {
            var text = ((JsonNumber)json).Text;
            var v = double.Parse(text, CultureInfo.InvariantCulture);
            return v == 0 && text.StartsWith("-") ? -0.0 : v;
        }

        static object FromJson(object type, object json)
        {
            var t = Only(type);
            switch (t.Key)
            {
                case "Bool": return (bool)json;
                case "String": return (string)json;
                case "F32": return (float)Float(json);
                case "F64": return Float(json);
                case "Array":
                    if (Only(t.Value).Key == "U8") return Assert.Unhex((string)json);
                    return ((List<object>)json).Select(x => FromJson(t.Value, x)).ToList();
                case "Product":
                    {
                        var p = new Prod();
                        foreach (var m in Members(type)) p.Fields.Add(FromJson(m.Value, Json.Get(json, m.Key)));
                        return p;
                    }
                case "Sum":
                    {
                        var chosen = Only(json);
                        var variants = Members(type);
                        int tag = variants.FindIndex(v => v.Key == chosen.Key);
                        return new SumV { Tag = tag, Payload = FromJson(variants[tag].Value, chosen.Value) };
                    }
                default: return Integer(json);
            }
        }

        static void Encode(object type, object v, BsatnWriter w)
        {
            var t = Only(type);
            switch (t.Key)
            {
                case "Bool": w.WriteBool((bool)v); break;
                case "String": w.WriteString((string)v); break;
                case "F32": w.WriteF32((float)v); break;
                case "F64": w.WriteF64((double)v); break;
                case "I8": w.WriteI8((sbyte)(BigInteger)v); break;
                case "U8": w.WriteU8((byte)(BigInteger)v); break;
                case "I16": w.WriteI16((short)(BigInteger)v); break;
                case "U16": w.WriteU16((ushort)(BigInteger)v); break;
                case "I32": w.WriteI32((int)(BigInteger)v); break;
                case "U32": w.WriteU32((uint)(BigInteger)v); break;
                case "I64": w.WriteI64((long)(BigInteger)v); break;
                case "U64": w.WriteU64((ulong)(BigInteger)v); break;
                case "I128": w.WriteI128((BigInteger)v); break;
                case "U128": w.WriteU128((BigInteger)v); break;
                case "I256": w.WriteI256((BigInteger)v); break;
                case "U256": w.WriteU256((BigInteger)v); break;
                case "Array":
                    if (Only(t.Value).Key == "U8") w.WriteBytes((byte[])v);
                    else w.WriteArray((List<object>)v, (x, e) => Encode(t.Value, e, x));
                    break;
                case "Product":
                    {
                        var members = Members(type);
                        for (int i = 0; i < members.Count; i++) Encode(members[i].Value, ((Prod)v).Fields[i], w);
                        break;
                    }
                case "Sum":
                    {
                        var s = (SumV)v;
                        w.WriteU8((byte)s.Tag);
                        Encode(Members(type)[s.Tag].Value, s.Payload, w);
                        break;
                    }
                default: throw new FormatException("unknown type " + t.Key);
            }
        }

        static object Decode(object type, BsatnReader r)
        {
            var t = Only(type);
            switch (t.Key)
            {
                case "Bool": return r.ReadBool();
                case "String": return r.ReadString();
                case "F32": return r.ReadF32();
                case "F64": return r.ReadF64();
                case "I8": return new BigInteger(r.ReadI8());
                case "U8": return new BigInteger(r.ReadU8());
                case "I16": return new BigInteger(r.ReadI16());
                case "U16": return new BigInteger(r.ReadU16());
                case "I32": return new BigInteger(r.ReadI32());
                case "U32": return new BigInteger(r.ReadU32());
                case "I64": return new BigInteger(r.ReadI64());
                case "U64": return new BigInteger(r.ReadU64());
                case "I128": return r.ReadI128();
                case "U128": return r.ReadU128();
                case "I256": return r.ReadI256();
                case "U256": return r.ReadU256();
                case "Array":
                    if (Only(t.Value).Key == "U8") return r.ReadBytes();
                    return r.ReadArray(x => Decode(t.Value, x));
                case "Product":
                    {
                        var p = new Prod();
                        foreach (var m in Members(type)) p.Fields.Add(Decode(m.Value, r));
                        return p;
                    }
                case "Sum":
                    {
                        var variants = Members(type);
                        int tag = r.ReadTag(variants.Count, "sum");
                        return new SumV { Tag = tag, Payload = Decode(variants[tag].Value, r) };
                    }
                default: throw new FormatException("unknown type " + t.Key);
            }
        }

        static bool Same(object a, object b)
        {
            if (a is float && b is float) return BitConverter.GetBytes((float)a).SequenceEqual(BitConverter.GetBytes((float)b));
            if (a is double && b is double) return BitConverter.DoubleToInt64Bits((double)a) == BitConverter.DoubleToInt64Bits((double)b);
            if (a is byte[] && b is byte[]) return ((byte[])a).SequenceEqual((byte[])b);
            if (a is Prod && b is Prod) return Same(((Prod)a).Fields, ((Prod)b).Fields);
            if (a is SumV && b is SumV) return ((SumV)a).Tag == ((SumV)b).Tag && Same(((SumV)a).Payload, ((SumV)b).Payload);
            var la = a as List<object>;
            var lb = b as List<object>;
            if (la != null && lb != null) return la.Count == lb.Count && la.Zip(lb, Same).All(x => x);
            return Equals(a, b);
        }

        [Test]
        public static void EveryVectorEncodesAndDecodes()
        {
            var cases = Cases();
            Assert.True(cases.Count >= 60, "the vector file has its cases (" + cases.Count + ")");
            foreach (var c in cases)
            {
                var name = (string)Json.Get(c, "name");
                var type = Json.Get(c, "type");
                var hex = (string)Json.Get(c, "bsatn_hex");
                var value = FromJson(type, Json.Get(c, "value"));
                var w = new BsatnWriter();
                Encode(type, value, w);
                Assert.Equal(hex, Assert.Hex(w.ToArray()), name + ": encoding");
                var r = new BsatnReader(Assert.Unhex(hex));
                var back = Decode(type, r);
                r.EnsureEnd(name);
                Assert.True(Same(value, back), name + ": decoding gives the value back");
            }
        }

        static object Case(string name)
        {
            return Cases().First(c => (string)Json.Get(c, "name") == name);
        }

        static byte[] Bytes(string name) { return Assert.Unhex((string)Json.Get(Case(name), "bsatn_hex")); }

        static object Field(string name, string field) { return Json.Get(Json.Get(Case(name), "value"), field); }

        static byte[] RoundTrip<T>(byte[] bytes, Func<BsatnReader, T> read, Action<T, BsatnWriter> write, out T value)
        {
            var r = new BsatnReader(bytes);
            value = read(r);
            r.EnsureEnd("special type");
            var w = new BsatnWriter();
            write(value, w);
            return w.ToArray();
        }

        [Test]
        public static void SpecialTypesMatchTheirVectors()
        {
            foreach (var name in new[] { "identity", "identity_zero" })
            {
                Identity id;
                Assert.Equal(Assert.Hex(Bytes(name)), Assert.Hex(RoundTrip(Bytes(name), Identity.Read, (v, w) => v.Write(w), out id)), name);
                Assert.Equal(Integer(Field(name, "__identity__")), new BsatnReader(id.ToByteArray()).ReadU256(), name + " value");
                Assert.Equal(id, Identity.FromHexString(id.ToString()), name + " hex round trip");
            }
            Assert.Equal("c200000000000000", Identity.FromHexString("0xc20000000000000000000000000000010102030405060708090a0b0c0d0e0f10").ToAbbreviatedHex(), "abbreviated identity");
            ConnectionId cid;
            Assert.Equal(Assert.Hex(Bytes("connection_id")), Assert.Hex(RoundTrip(Bytes("connection_id"), ConnectionId.Read, (v, w) => v.Write(w), out cid)), "connection_id");
            Assert.Equal(ConnectionId.FromBigInteger(Integer(Field("connection_id", "__connection_id__"))), cid, "connection_id value");
            foreach (var name in new[] { "timestamp_epoch", "timestamp_2023", "timestamp_before_epoch" })
            {
                Timestamp ts;
                Assert.Equal(Assert.Hex(Bytes(name)), Assert.Hex(RoundTrip(Bytes(name), Timestamp.Read, (v, w) => v.Write(w), out ts)), name);
                Assert.Equal((long)Integer(Field(name, "__timestamp_micros_since_unix_epoch__")), ts.MicrosecondsSinceUnixEpoch, name + " value");
            }
            Assert.Equal("2023-11-14T22:13:20.123456Z", new Timestamp(1700000000123456).ToString(), "timestamp text");
            foreach (var name in new[] { "time_duration", "time_duration_negative" })
            {
                TimeDuration d;
                Assert.Equal(Assert.Hex(Bytes(name)), Assert.Hex(RoundTrip(Bytes(name), TimeDuration.Read, (v, w) => v.Write(w), out d)), name);
                Assert.Equal((long)Integer(Field(name, "__time_duration_micros__")), d.Microseconds, name + " value");
            }
            Uuid u;
            Assert.Equal(Assert.Hex(Bytes("uuid")), Assert.Hex(RoundTrip(Bytes("uuid"), Uuid.Read, (v, w) => v.Write(w), out u)), "uuid");
            Assert.Equal(Integer(Field("uuid", "__uuid__")), u.ToBigInteger(), "uuid value");
            Assert.Equal(u, Uuid.Parse(u.ToString()), "uuid text round trip");
            ScheduleAt at;
            Assert.Equal(Assert.Hex(Bytes("schedule_at_interval")), Assert.Hex(RoundTrip(Bytes("schedule_at_interval"), ScheduleAt.Read, (v, w) => v.Write(w), out at)), "interval");
            Assert.Equal<ScheduleAt>(new ScheduleAt.Interval(new TimeDuration(1000000)), at, "interval value");
            Assert.Equal(Assert.Hex(Bytes("schedule_at_time")), Assert.Hex(RoundTrip(Bytes("schedule_at_time"), ScheduleAt.Read, (v, w) => v.Write(w), out at)), "time");
            Assert.Equal<ScheduleAt>(new ScheduleAt.Time(new Timestamp(1700000000000000)), at, "time value");
        }

        [Test]
        public static void OptionsAndResultsUseTheirTags()
        {
            var w = new BsatnWriter();
            w.WriteOption("x", (x, s) => x.WriteString(s));
            w.WriteOption<string>(null, (x, s) => x.WriteString(s));
            w.WriteOptionValue<byte>(5, (x, b) => x.WriteU8(b));
            Result<uint, string>.Ok(1).Write(w, (x, v) => x.WriteU32(v), (x, e) => x.WriteString(e));
            Result<uint, string>.Err("bad").Write(w, (x, v) => x.WriteU32(v), (x, e) => x.WriteString(e));
            var expected = (string)Json.Get(Case("option_string"), "bsatn_hex") + "01" + (string)Json.Get(Case("option_some"), "bsatn_hex")
                + (string)Json.Get(Case("result_ok"), "bsatn_hex") + (string)Json.Get(Case("result_err"), "bsatn_hex");
            Assert.Equal(expected, Assert.Hex(w.ToArray()), "option and result bytes");
            var r = new BsatnReader(w.ToArray());
            Assert.Equal("x", r.ReadOption(x => x.ReadString()), "some string");
            Assert.Equal(null, r.ReadOption(x => x.ReadString()), "none");
            Assert.Equal((byte?)5, r.ReadOptionValue(x => x.ReadU8()), "some u8");
            Assert.Equal(Result<uint, string>.Ok(1), Result<uint, string>.Read(r, x => x.ReadU32(), x => x.ReadString()), "ok");
            Assert.Equal(Result<uint, string>.Err("bad"), Result<uint, string>.Read(r, x => x.ReadU32(), x => x.ReadString()), "err");
        }

        [Test]
        public static void SingleBytesFillTheWriterPastItsFirstBuffer()
        {
            // Found by the cache vectors: a u8 written when the buffer was exactly full went
            // to the array Grow had just replaced.
            var w = new BsatnWriter();
            var expected = new byte[300];
            for (int i = 0; i < expected.Length; i++)
            {
                expected[i] = (byte)i;
                w.WriteU8((byte)i);
            }
            Assert.Equal(Assert.Hex(expected), Assert.Hex(w.ToArray()), "bytes");
        }

        [Test]
        public static void BadInputGivesClearErrors()
        {
            var e = Assert.Throws<BsatnException>(() => new BsatnReader(new byte[] { 1, 2 }).ReadU32(), "short u32");
            Assert.True(e.Message.Contains("needed 4 bytes"), e.Message);
            e = Assert.Throws<BsatnException>(() => new BsatnReader(new byte[] { 2 }).ReadBool(), "bad bool");
            Assert.True(e.Message.Contains("invalid bool"), e.Message);
            e = Assert.Throws<BsatnException>(() => new BsatnReader(new byte[] { 9, 0, 0, 0, 1 }).ReadString(), "long string");
            Assert.True(e.Message.Contains("exceeds"), e.Message);
            e = Assert.Throws<BsatnException>(() => new BsatnReader(new byte[] { 2, 0, 0, 0, 0xff, 0xfe }).ReadString(), "bad utf-8");
            Assert.True(e.Message.Contains("UTF-8"), e.Message);
            e = Assert.Throws<BsatnException>(() => new BsatnReader(new byte[] { 3 }).ReadTag(3, "Color"), "bad tag");
            Assert.True(e.Message.Contains("Color"), e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => new BsatnWriter().WriteU128(BigInteger.MinusOne), "negative u128");
            Assert.Throws<ArgumentOutOfRangeException>(() => new BsatnWriter().WriteI256(BigInteger.One << 255), "i256 too large");
            Assert.Throws<FormatException>(() => Identity.FromHexString("12"), "short identity hex");
        }
    }
}
