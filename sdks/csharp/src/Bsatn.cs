// BSATN, SpacetimeDB's binary value encoding: a reader and a writer for every primitive
// (little-endian fixed-width integers up to 256 bits, IEEE floats, length-prefixed strings,
// byte arrays and arrays), options (tag 0 = some, 1 = none) and sum tags. Generated code
// composes these calls into the codec of each row, type and reducer argument list.
using System;
using System.Collections.Generic;
using System.Numerics;
using System.Text;

namespace SpacetimeDB
{
    /// <summary>Bytes that are not a valid BSATN encoding of the expected type.</summary>
    public sealed class BsatnException : Exception
    {
        /// <summary>Creates the exception with a message naming what was wrong and where.</summary>
        public BsatnException(string message) : base(message) { }
    }

    /// <summary>Reads BSATN values from a byte array, front to back.</summary>
    public sealed class BsatnReader
    {
        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);
        static readonly BigInteger TwoTo128 = BigInteger.One << 128;
        static readonly BigInteger TwoTo256 = BigInteger.One << 256;

        readonly byte[] data;
        int pos;
        readonly int end;

        /// <summary>Reads all of <paramref name="data"/>.</summary>
        public BsatnReader(byte[] data) : this(data, 0, data.Length) { }

        /// <summary>Reads <paramref name="count"/> bytes of <paramref name="data"/> from <paramref name="offset"/>.</summary>
        public BsatnReader(byte[] data, int offset, int count)
        {
            if (data == null) throw new ArgumentNullException("data");
            if (offset < 0 || count < 0 || offset + count > data.Length)
                throw new ArgumentOutOfRangeException("count", "the range lies outside the array");
            this.data = data;
            pos = offset;
            end = offset + count;
        }

        /// <summary>How many bytes are left.</summary>
        public int Remaining { get { return end - pos; } }

        /// <summary>Fails unless every byte was read: trailing bytes mean the type was wrong.</summary>
        public void EnsureEnd(string what)
        {
            if (pos != end)
                throw new BsatnException(string.Format("{0}: {1} bytes left over after the value; the bindings may be out of date", what, end - pos));
        }

        int Take(int n)
        {
            if (end - pos < n)
                throw new BsatnException(string.Format("unexpected end of input: needed {0} bytes at offset {1}, {2} left", n, pos, end - pos));
            int at = pos;
            pos += n;
            return at;
        }

        /// <summary>A <c>bool</c>: one byte, 0 or 1.</summary>
        public bool ReadBool()
        {
            byte b = data[Take(1)];
            if (b > 1) throw new BsatnException(string.Format("invalid bool byte {0} at offset {1}", b, pos - 1));
            return b == 1;
        }

        /// <summary>A <c>u8</c>.</summary>
        public byte ReadU8() { return data[Take(1)]; }
        /// <summary>An <c>i8</c>.</summary>
        public sbyte ReadI8() { return unchecked((sbyte)data[Take(1)]); }
        /// <summary>A <c>u16</c>.</summary>
        public ushort ReadU16() { int i = Take(2); return (ushort)(data[i] | data[i + 1] << 8); }
        /// <summary>An <c>i16</c>.</summary>
        public short ReadI16() { return unchecked((short)ReadU16()); }
        /// <summary>A <c>u32</c>.</summary>
        public uint ReadU32() { int i = Take(4); return (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24); }
        /// <summary>An <c>i32</c>.</summary>
        public int ReadI32() { return unchecked((int)ReadU32()); }
        /// <summary>A <c>u64</c>.</summary>
        public ulong ReadU64() { ulong lo = ReadU32(); ulong hi = ReadU32(); return lo | hi << 32; }
        /// <summary>An <c>i64</c>.</summary>
        public long ReadI64() { return unchecked((long)ReadU64()); }

        BigInteger ReadUnsigned(int size)
        {
            int i = Take(size);
            var bytes = new byte[size + 1];
            Buffer.BlockCopy(data, i, bytes, 0, size);
            return new BigInteger(bytes);
        }

        /// <summary>A <c>u128</c>.</summary>
        public BigInteger ReadU128() { return ReadUnsigned(16); }
        /// <summary>An <c>i128</c>.</summary>
        public BigInteger ReadI128() { var v = ReadUnsigned(16); return v >= TwoTo128 >> 1 ? v - TwoTo128 : v; }
        /// <summary>A <c>u256</c>.</summary>
        public BigInteger ReadU256() { return ReadUnsigned(32); }
        /// <summary>An <c>i256</c>.</summary>
        public BigInteger ReadI256() { var v = ReadUnsigned(32); return v >= TwoTo256 >> 1 ? v - TwoTo256 : v; }

        /// <summary>An <c>f32</c>.</summary>
        public float ReadF32() { return BitConverter.ToSingle(BitConverter.GetBytes(ReadU32()), 0); }
        /// <summary>An <c>f64</c>.</summary>
        public double ReadF64() { return BitConverter.Int64BitsToDouble(ReadI64()); }

        int ReadLength()
        {
            uint n = ReadU32();
            if (n > (uint)Remaining)
                throw new BsatnException(string.Format("a length of {0} at offset {1} exceeds the {2} bytes left", n, pos - 4, Remaining));
            return (int)n;
        }

        /// <summary>A UTF-8 <c>String</c>.</summary>
        public string ReadString()
        {
            int n = ReadLength();
            int i = Take(n);
            try { return StrictUtf8.GetString(data, i, n); }
            catch (ArgumentException) { throw new BsatnException(string.Format("the string at offset {0} is not valid UTF-8", i)); }
        }

        /// <summary>An <c>Array&lt;u8&gt;</c>.</summary>
        public byte[] ReadBytes()
        {
            int n = ReadLength();
            int i = Take(n);
            var bytes = new byte[n];
            Buffer.BlockCopy(data, i, bytes, 0, n);
            return bytes;
        }

        /// <summary><paramref name="n"/> raw bytes, with no length prefix.</summary>
        public byte[] ReadRaw(int n)
        {
            int i = Take(n);
            var bytes = new byte[n];
            Buffer.BlockCopy(data, i, bytes, 0, n);
            return bytes;
        }

        /// <summary>An array of elements, each read by <paramref name="element"/>.</summary>
        public List<T> ReadArray<T>(Func<BsatnReader, T> element)
        {
            uint n = ReadU32();
            // Every element takes at least zero bytes, so the count alone cannot be trusted
            // for the initial capacity.
            var list = new List<T>((int)Math.Min(n, (uint)Math.Max(Remaining, 0) + 1));
            for (uint k = 0; k < n; k++) list.Add(element(this));
            return list;
        }

        /// <summary>A sum tag that must be below <paramref name="variants"/>, for the type named <paramref name="type"/>.</summary>
        public byte ReadTag(int variants, string type)
        {
            byte tag = ReadU8();
            if (tag >= variants)
                throw new BsatnException(string.Format("invalid tag {0} for {1}, which has {2} variants", tag, type, variants));
            return tag;
        }

        /// <summary>An <c>Option</c> of a reference type: null for none.</summary>
        public T ReadOption<T>(Func<BsatnReader, T> some) where T : class
        {
            return ReadTag(2, "Option") == 0 ? some(this) : null;
        }

        /// <summary>An <c>Option</c> of a value type: null for none.</summary>
        public T? ReadOptionValue<T>(Func<BsatnReader, T> some) where T : struct
        {
            return ReadTag(2, "Option") == 0 ? some(this) : (T?)null;
        }
    }

    /// <summary>Writes BSATN values into a growing buffer.</summary>
    public sealed class BsatnWriter
    {
        static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);
        static readonly BigInteger TwoTo128 = BigInteger.One << 128;
        static readonly BigInteger TwoTo256 = BigInteger.One << 256;

        byte[] buffer = new byte[64];
        int length;

        /// <summary>The bytes written so far.</summary>
        public byte[] ToArray()
        {
            var bytes = new byte[length];
            Buffer.BlockCopy(buffer, 0, bytes, 0, length);
            return bytes;
        }

        int Grow(int n)
        {
            if (length + n > buffer.Length)
            {
                var bigger = new byte[Math.Max(buffer.Length * 2, length + n)];
                Buffer.BlockCopy(buffer, 0, bigger, 0, length);
                buffer = bigger;
            }
            int at = length;
            length += n;
            return at;
        }

        /// <summary>A <c>bool</c>.</summary>
        public void WriteBool(bool v) { WriteU8(v ? (byte)1 : (byte)0); }
        /// <summary>A <c>u8</c>.</summary>
        public void WriteU8(byte v)
        {
            // Grow first: `buffer[Grow(1)] = v` would read the array before Grow replaces it
            // and write into the old one (or past its end) whenever the buffer was full.
            int i = Grow(1);
            buffer[i] = v;
        }
        /// <summary>An <c>i8</c>.</summary>
        public void WriteI8(sbyte v) { WriteU8(unchecked((byte)v)); }
        /// <summary>A <c>u16</c>.</summary>
        public void WriteU16(ushort v) { int i = Grow(2); buffer[i] = (byte)v; buffer[i + 1] = (byte)(v >> 8); }
        /// <summary>An <c>i16</c>.</summary>
        public void WriteI16(short v) { WriteU16(unchecked((ushort)v)); }
        /// <summary>A <c>u32</c>.</summary>
        public void WriteU32(uint v)
        {
            int i = Grow(4);
            buffer[i] = (byte)v; buffer[i + 1] = (byte)(v >> 8); buffer[i + 2] = (byte)(v >> 16); buffer[i + 3] = (byte)(v >> 24);
        }
        /// <summary>An <c>i32</c>.</summary>
        public void WriteI32(int v) { WriteU32(unchecked((uint)v)); }
        /// <summary>A <c>u64</c>.</summary>
        public void WriteU64(ulong v) { WriteU32((uint)v); WriteU32((uint)(v >> 32)); }
        /// <summary>An <c>i64</c>.</summary>
        public void WriteI64(long v) { WriteU64(unchecked((ulong)v)); }

        void WriteTwosComplement(BigInteger v, int size, BigInteger min, BigInteger maxExclusive, string type)
        {
            if (v < min || v >= maxExclusive)
                throw new ArgumentOutOfRangeException("v", string.Format("{0} does not fit in a {1}", v, type));
            if (v.Sign < 0) v += BigInteger.One << (size * 8);
            byte[] bytes = v.ToByteArray();
            int i = Grow(size);
            // ToByteArray may add a sign byte past the width, or be shorter than it.
            for (int k = 0; k < size; k++) buffer[i + k] = k < bytes.Length ? bytes[k] : (byte)0;
        }

        /// <summary>A <c>u128</c>; fails if <paramref name="v"/> is negative or too large.</summary>
        public void WriteU128(BigInteger v) { WriteTwosComplement(v, 16, BigInteger.Zero, TwoTo128, "u128"); }
        /// <summary>An <c>i128</c>; fails if <paramref name="v"/> is out of range.</summary>
        public void WriteI128(BigInteger v) { WriteTwosComplement(v, 16, -(TwoTo128 >> 1), TwoTo128 >> 1, "i128"); }
        /// <summary>A <c>u256</c>; fails if <paramref name="v"/> is negative or too large.</summary>
        public void WriteU256(BigInteger v) { WriteTwosComplement(v, 32, BigInteger.Zero, TwoTo256, "u256"); }
        /// <summary>An <c>i256</c>; fails if <paramref name="v"/> is out of range.</summary>
        public void WriteI256(BigInteger v) { WriteTwosComplement(v, 32, -(TwoTo256 >> 1), TwoTo256 >> 1, "i256"); }

        /// <summary>An <c>f32</c>.</summary>
        public void WriteF32(float v) { WriteU32(BitConverter.ToUInt32(BitConverter.GetBytes(v), 0)); }
        /// <summary>An <c>f64</c>.</summary>
        public void WriteF64(double v) { WriteI64(BitConverter.DoubleToInt64Bits(v)); }

        /// <summary>A UTF-8 <c>String</c>; null is not a string.</summary>
        public void WriteString(string v)
        {
            if (v == null) throw new ArgumentNullException("v", "a BSATN string cannot be null; use an Option for a missing value");
            byte[] bytes = StrictUtf8.GetBytes(v);
            WriteU32((uint)bytes.Length);
            WriteRaw(bytes);
        }

        /// <summary>An <c>Array&lt;u8&gt;</c>.</summary>
        public void WriteBytes(byte[] v)
        {
            if (v == null) throw new ArgumentNullException("v", "a BSATN byte array cannot be null; use an empty array");
            WriteU32((uint)v.Length);
            WriteRaw(v);
        }

        /// <summary>Bytes as they are, with no length prefix.</summary>
        public void WriteRaw(byte[] v)
        {
            int i = Grow(v.Length);
            Buffer.BlockCopy(v, 0, buffer, i, v.Length);
        }

        /// <summary>An array of elements, each written by <paramref name="element"/>.</summary>
        public void WriteArray<T>(IList<T> v, Action<BsatnWriter, T> element)
        {
            if (v == null) throw new ArgumentNullException("v", "a BSATN array cannot be null; use an empty list");
            WriteU32((uint)v.Count);
            foreach (var x in v) element(this, x);
        }

        /// <summary>An <c>Option</c> of a reference type: null is none.</summary>
        public void WriteOption<T>(T v, Action<BsatnWriter, T> some) where T : class
        {
            if (v == null) { WriteU8(1); return; }
            WriteU8(0);
            some(this, v);
        }

        /// <summary>An <c>Option</c> of a value type: null is none.</summary>
        public void WriteOptionValue<T>(T? v, Action<BsatnWriter, T> some) where T : struct
        {
            if (!v.HasValue) { WriteU8(1); return; }
            WriteU8(0);
            some(this, v.Value);
        }
    }

    /// <summary>Compares byte arrays by content, so encoded rows can key dictionaries.</summary>
    public sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        /// <summary>The one instance.</summary>
        public static readonly ByteArrayComparer Instance = new ByteArrayComparer();

        /// <inheritdoc/>
        public bool Equals(byte[] a, byte[] b)
        {
            if (ReferenceEquals(a, b)) return true;
            if (a == null || b == null || a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        /// <inheritdoc/>
        public int GetHashCode(byte[] a)
        {
            unchecked
            {
                int h = (int)2166136261;
                foreach (byte b in a) h = (h ^ b) * 16777619;
                return h;
            }
        }
    }
}
