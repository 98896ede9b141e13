// The SATS special types a module can use in its columns and arguments (Identity,
// ConnectionId, Timestamp, TimeDuration, Uuid, ScheduleAt), plus Unit and Result, each with
// its BSATN codec, value equality and the text forms the server and the CLI print.
using System;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace SpacetimeDB
{
    static class Hex
    {
        internal static string Encode(byte[] bigEndian)
        {
            var sb = new StringBuilder(bigEndian.Length * 2);
            foreach (byte b in bigEndian) sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        internal static byte[] Reverse(byte[] bytes)
        {
            var r = (byte[])bytes.Clone();
            Array.Reverse(r);
            return r;
        }

        internal static byte[] DecodeBigEndian(string hex, int size, string type)
        {
            if (hex == null) throw new ArgumentNullException("hex");
            string h = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex.Substring(2) : hex;
            if (h.Length != size * 2)
                throw new FormatException(string.Format("a {0} in hex has {1} digits, but `{2}` has {3}", type, size * 2, hex, h.Length));
            var bytes = new byte[size];
            for (int i = 0; i < size; i++)
            {
                if (!byte.TryParse(h.Substring(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes[i]))
                    throw new FormatException(string.Format("`{0}` is not a hex {1}: bad digit near position {2}", hex, type, i * 2));
            }
            return bytes;
        }

        internal static bool BytesEqual(byte[] a, byte[] b) { return ByteArrayComparer.Instance.Equals(a ?? Zero(b), b ?? Zero(a)); }
        static byte[] Zero(byte[] like) { return new byte[like == null ? 0 : like.Length]; }
    }

    /// <summary>A client's or module's identity: a 256-bit number, printed as 64 hex digits.</summary>
    public struct Identity : IEquatable<Identity>
    {
        readonly byte[] le; // 32 bytes, little-endian; null means zero

        /// <summary>The identity whose little-endian bytes are <paramref name="littleEndian"/> (32 of them).</summary>
        public Identity(byte[] littleEndian)
        {
            if (littleEndian == null || littleEndian.Length != 32)
                throw new ArgumentException("an Identity is exactly 32 bytes", "littleEndian");
            le = (byte[])littleEndian.Clone();
        }

        /// <summary>Parses the 64-digit hex form, with or without <c>0x</c>.</summary>
        public static Identity FromHexString(string hex) { return new Identity(Hex.Reverse(Hex.DecodeBigEndian(hex, 32, "Identity"))); }

        /// <summary>The identity as a number.</summary>
        public static Identity FromBigInteger(BigInteger v) { var w = new BsatnWriter(); w.WriteU256(v); return new Identity(w.ToArray()); }

        /// <summary>The 32 little-endian bytes.</summary>
        public byte[] ToByteArray() { return le == null ? new byte[32] : (byte[])le.Clone(); }

        /// <summary>The 64 hex digits, most significant first.</summary>
        public override string ToString() { return Hex.Encode(Hex.Reverse(ToByteArray())); }

        /// <summary>The first 16 hex digits, a short form for display.</summary>
        public string ToAbbreviatedHex() { return ToString().Substring(0, 16); }

        /// <summary>Reads an Identity (a <c>u256</c>).</summary>
        public static Identity Read(BsatnReader r) { return new Identity(r.ReadRaw(32)); }
        /// <summary>Writes this Identity (a <c>u256</c>).</summary>
        public void Write(BsatnWriter w) { w.WriteRaw(ToByteArray()); }

        /// <inheritdoc/>
        public bool Equals(Identity other) { return Hex.BytesEqual(le, other.le); }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is Identity && Equals((Identity)obj); }
        /// <inheritdoc/>
        public override int GetHashCode() { return ByteArrayComparer.Instance.GetHashCode(ToByteArray()); }
        /// <summary>Value equality.</summary>
        public static bool operator ==(Identity a, Identity b) { return a.Equals(b); }
        /// <summary>Value inequality.</summary>
        public static bool operator !=(Identity a, Identity b) { return !a.Equals(b); }
    }

    /// <summary>One connection of a client: a 128-bit number, printed as 32 hex digits.</summary>
    public struct ConnectionId : IEquatable<ConnectionId>
    {
        readonly byte[] le; // 16 bytes, little-endian; null means zero

        /// <summary>The id whose little-endian bytes are <paramref name="littleEndian"/> (16 of them).</summary>
        public ConnectionId(byte[] littleEndian)
        {
            if (littleEndian == null || littleEndian.Length != 16)
                throw new ArgumentException("a ConnectionId is exactly 16 bytes", "littleEndian");
            le = (byte[])littleEndian.Clone();
        }

        /// <summary>Parses the 32-digit hex form, with or without <c>0x</c>.</summary>
        public static ConnectionId FromHexString(string hex) { return new ConnectionId(Hex.Reverse(Hex.DecodeBigEndian(hex, 16, "ConnectionId"))); }

        /// <summary>The id as a number.</summary>
        public static ConnectionId FromBigInteger(BigInteger v) { var w = new BsatnWriter(); w.WriteU128(v); return new ConnectionId(w.ToArray()); }

        /// <summary>A random nonzero id.</summary>
        public static ConnectionId Random()
        {
            var bytes = Guid.NewGuid().ToByteArray();
            bytes[0] |= 1;
            return new ConnectionId(bytes);
        }

        /// <summary>Whether this is the all-zero id, which means "no connection".</summary>
        public bool IsZero { get { return le == null || Array.TrueForAll(le, b => b == 0); } }

        /// <summary>The 16 little-endian bytes.</summary>
        public byte[] ToByteArray() { return le == null ? new byte[16] : (byte[])le.Clone(); }

        /// <summary>The 32 hex digits, most significant first.</summary>
        public override string ToString() { return Hex.Encode(Hex.Reverse(ToByteArray())); }

        /// <summary>Reads a ConnectionId (a <c>u128</c>).</summary>
        public static ConnectionId Read(BsatnReader r) { return new ConnectionId(r.ReadRaw(16)); }
        /// <summary>Writes this ConnectionId (a <c>u128</c>).</summary>
        public void Write(BsatnWriter w) { w.WriteRaw(ToByteArray()); }

        /// <inheritdoc/>
        public bool Equals(ConnectionId other) { return Hex.BytesEqual(le, other.le); }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is ConnectionId && Equals((ConnectionId)obj); }
        /// <inheritdoc/>
        public override int GetHashCode() { return ByteArrayComparer.Instance.GetHashCode(ToByteArray()); }
        /// <summary>Value equality.</summary>
        public static bool operator ==(ConnectionId a, ConnectionId b) { return a.Equals(b); }
        /// <summary>Value inequality.</summary>
        public static bool operator !=(ConnectionId a, ConnectionId b) { return !a.Equals(b); }
    }

    /// <summary>A point in time: microseconds since the Unix epoch.</summary>
    public struct Timestamp : IEquatable<Timestamp>, IComparable<Timestamp>
    {
        /// <summary>Microseconds since 1970-01-01T00:00:00Z; negative before it.</summary>
        public readonly long MicrosecondsSinceUnixEpoch;

        /// <summary>The timestamp <paramref name="micros"/> microseconds after the epoch.</summary>
        public Timestamp(long micros) { MicrosecondsSinceUnixEpoch = micros; }

        /// <summary>The current time.</summary>
        public static Timestamp Now { get { return FromDateTime(DateTime.UtcNow); } }

        /// <summary>The timestamp of a <see cref="DateTime"/> (converted to UTC).</summary>
        public static Timestamp FromDateTime(DateTime t)
        {
            return new Timestamp((t.ToUniversalTime().Ticks - UnixEpochTicks) / 10);
        }

        const long UnixEpochTicks = 621355968000000000L;

        /// <summary>The timestamp as a UTC <see cref="DateTime"/>.</summary>
        public DateTime ToDateTime() { return new DateTime(UnixEpochTicks + MicrosecondsSinceUnixEpoch * 10, DateTimeKind.Utc); }

        /// <summary>Reads a Timestamp (an <c>i64</c>).</summary>
        public static Timestamp Read(BsatnReader r) { return new Timestamp(r.ReadI64()); }
        /// <summary>Writes this Timestamp (an <c>i64</c>).</summary>
        public void Write(BsatnWriter w) { w.WriteI64(MicrosecondsSinceUnixEpoch); }

        /// <inheritdoc/>
        public override string ToString() { return ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture); }
        /// <inheritdoc/>
        public int CompareTo(Timestamp other) { return MicrosecondsSinceUnixEpoch.CompareTo(other.MicrosecondsSinceUnixEpoch); }
        /// <inheritdoc/>
        public bool Equals(Timestamp other) { return MicrosecondsSinceUnixEpoch == other.MicrosecondsSinceUnixEpoch; }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is Timestamp && Equals((Timestamp)obj); }
        /// <inheritdoc/>
        public override int GetHashCode() { return MicrosecondsSinceUnixEpoch.GetHashCode(); }
        /// <summary>Value equality.</summary>
        public static bool operator ==(Timestamp a, Timestamp b) { return a.Equals(b); }
        /// <summary>Value inequality.</summary>
        public static bool operator !=(Timestamp a, Timestamp b) { return !a.Equals(b); }
    }

    /// <summary>A signed span of time in microseconds.</summary>
    public struct TimeDuration : IEquatable<TimeDuration>, IComparable<TimeDuration>
    {
        /// <summary>The length in microseconds.</summary>
        public readonly long Microseconds;

        /// <summary>A duration of <paramref name="micros"/> microseconds.</summary>
        public TimeDuration(long micros) { Microseconds = micros; }

        /// <summary>The duration of a <see cref="TimeSpan"/> (to the microsecond).</summary>
        public static TimeDuration FromTimeSpan(TimeSpan span) { return new TimeDuration(span.Ticks / 10); }

        /// <summary>The duration as a <see cref="TimeSpan"/>.</summary>
        public TimeSpan ToTimeSpan() { return TimeSpan.FromTicks(Microseconds * 10); }

        /// <summary>Reads a TimeDuration (an <c>i64</c>).</summary>
        public static TimeDuration Read(BsatnReader r) { return new TimeDuration(r.ReadI64()); }
        /// <summary>Writes this TimeDuration (an <c>i64</c>).</summary>
        public void Write(BsatnWriter w) { w.WriteI64(Microseconds); }

        /// <inheritdoc/>
        public override string ToString() { return Microseconds.ToString(CultureInfo.InvariantCulture) + "µs"; }
        /// <inheritdoc/>
        public int CompareTo(TimeDuration other) { return Microseconds.CompareTo(other.Microseconds); }
        /// <inheritdoc/>
        public bool Equals(TimeDuration other) { return Microseconds == other.Microseconds; }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is TimeDuration && Equals((TimeDuration)obj); }
        /// <inheritdoc/>
        public override int GetHashCode() { return Microseconds.GetHashCode(); }
        /// <summary>Value equality.</summary>
        public static bool operator ==(TimeDuration a, TimeDuration b) { return a.Equals(b); }
        /// <summary>Value inequality.</summary>
        public static bool operator !=(TimeDuration a, TimeDuration b) { return !a.Equals(b); }
    }

    /// <summary>A UUID, carried as a <c>u128</c> whose big-endian bytes are the UUID's bytes.</summary>
    public struct Uuid : IEquatable<Uuid>
    {
        readonly byte[] le; // 16 bytes, little-endian; null means the nil UUID

        /// <summary>The UUID whose <c>u128</c> value has little-endian bytes <paramref name="littleEndian"/>.</summary>
        public Uuid(byte[] littleEndian)
        {
            if (littleEndian == null || littleEndian.Length != 16)
                throw new ArgumentException("a Uuid is exactly 16 bytes", "littleEndian");
            le = (byte[])littleEndian.Clone();
        }

        /// <summary>The UUID whose <c>u128</c> value is <paramref name="v"/>.</summary>
        public static Uuid FromBigInteger(BigInteger v) { var w = new BsatnWriter(); w.WriteU128(v); return new Uuid(w.ToArray()); }

        /// <summary>Parses the hyphenated form <c>xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx</c>.</summary>
        public static Uuid Parse(string text)
        {
            string digits = (text ?? "").Replace("-", "");
            return new Uuid(Hex.Reverse(Hex.DecodeBigEndian(digits, 16, "Uuid")));
        }

        /// <summary>The <c>u128</c> value.</summary>
        public BigInteger ToBigInteger() { return new BsatnReader(ToByteArray()).ReadU128(); }

        /// <summary>The 16 little-endian bytes of the <c>u128</c> value.</summary>
        public byte[] ToByteArray() { return le == null ? new byte[16] : (byte[])le.Clone(); }

        /// <summary>The hyphenated form.</summary>
        public override string ToString()
        {
            string h = Hex.Encode(Hex.Reverse(ToByteArray()));
            return h.Substring(0, 8) + "-" + h.Substring(8, 4) + "-" + h.Substring(12, 4) + "-" + h.Substring(16, 4) + "-" + h.Substring(20);
        }

        /// <summary>Reads a Uuid (a <c>u128</c>).</summary>
        public static Uuid Read(BsatnReader r) { return new Uuid(r.ReadRaw(16)); }
        /// <summary>Writes this Uuid (a <c>u128</c>).</summary>
        public void Write(BsatnWriter w) { w.WriteRaw(ToByteArray()); }

        /// <inheritdoc/>
        public bool Equals(Uuid other) { return Hex.BytesEqual(le, other.le); }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is Uuid && Equals((Uuid)obj); }
        /// <inheritdoc/>
        public override int GetHashCode() { return ByteArrayComparer.Instance.GetHashCode(ToByteArray()); }
        /// <summary>Value equality.</summary>
        public static bool operator ==(Uuid a, Uuid b) { return a.Equals(b); }
        /// <summary>Value inequality.</summary>
        public static bool operator !=(Uuid a, Uuid b) { return !a.Equals(b); }
    }

    /// <summary>When a scheduled reducer runs: every <see cref="Interval"/>, or once at a <see cref="Time"/>.</summary>
    public abstract class ScheduleAt : IEquatable<ScheduleAt>
    {
        ScheduleAt() { }

        /// <summary>Repeats every <see cref="Value"/> (variant 0).</summary>
        public sealed class Interval : ScheduleAt
        {
            /// <summary>The period.</summary>
            public readonly TimeDuration Value;
            /// <summary>A repeating schedule.</summary>
            public Interval(TimeDuration value) { Value = value; }
            /// <inheritdoc/>
            public override string ToString() { return "Interval(" + Value + ")"; }
        }

        /// <summary>Runs once at <see cref="Value"/> (variant 1).</summary>
        public sealed class Time : ScheduleAt
        {
            /// <summary>The moment.</summary>
            public readonly Timestamp Value;
            /// <summary>A one-shot schedule.</summary>
            public Time(Timestamp value) { Value = value; }
            /// <inheritdoc/>
            public override string ToString() { return "Time(" + Value + ")"; }
        }

        /// <summary>Reads a ScheduleAt (a sum: 0 interval, 1 time).</summary>
        public static ScheduleAt Read(BsatnReader r)
        {
            return r.ReadTag(2, "ScheduleAt") == 0 ? (ScheduleAt)new Interval(TimeDuration.Read(r)) : new Time(Timestamp.Read(r));
        }

        /// <summary>Writes this ScheduleAt.</summary>
        public void Write(BsatnWriter w)
        {
            var interval = this as Interval;
            if (interval != null) { w.WriteU8(0); interval.Value.Write(w); }
            else { w.WriteU8(1); ((Time)this).Value.Write(w); }
        }

        /// <inheritdoc/>
        public bool Equals(ScheduleAt other)
        {
            if (other == null || other.GetType() != GetType()) return false;
            var interval = this as Interval;
            return interval != null ? interval.Value == ((Interval)other).Value : ((Time)this).Value == ((Time)other).Value;
        }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return Equals(obj as ScheduleAt); }
        /// <inheritdoc/>
        public override int GetHashCode()
        {
            var interval = this as Interval;
            return interval != null ? interval.Value.GetHashCode() : ~((Time)this).Value.GetHashCode();
        }
    }

    /// <summary>The empty product: a value that carries no data.</summary>
    public struct Unit : IEquatable<Unit>
    {
        /// <summary>Reads a Unit (no bytes).</summary>
        public static Unit Read(BsatnReader r) { return default(Unit); }
        /// <summary>Writes a Unit (no bytes).</summary>
        public void Write(BsatnWriter w) { }
        /// <inheritdoc/>
        public bool Equals(Unit other) { return true; }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return obj is Unit; }
        /// <inheritdoc/>
        public override int GetHashCode() { return 0; }
        /// <inheritdoc/>
        public override string ToString() { return "()"; }
    }

    /// <summary>A <c>Result</c> value: either <see cref="OkValue"/> (variant 0) or <see cref="ErrValue"/> (variant 1).</summary>
    public sealed class Result<T, E> : IEquatable<Result<T, E>>
    {
        /// <summary>Whether this is the ok variant.</summary>
        public readonly bool IsOk;
        /// <summary>The ok value (default when <see cref="IsOk"/> is false).</summary>
        public readonly T OkValue;
        /// <summary>The error value (default when <see cref="IsOk"/> is true).</summary>
        public readonly E ErrValue;

        Result(bool isOk, T ok, E err) { IsOk = isOk; OkValue = ok; ErrValue = err; }

        /// <summary>The ok variant.</summary>
        public static Result<T, E> Ok(T value) { return new Result<T, E>(true, value, default(E)); }
        /// <summary>The error variant.</summary>
        public static Result<T, E> Err(E error) { return new Result<T, E>(false, default(T), error); }

        /// <summary>Reads a Result with the readers of both sides.</summary>
        public static Result<T, E> Read(BsatnReader r, Func<BsatnReader, T> ok, Func<BsatnReader, E> err)
        {
            return r.ReadTag(2, "Result") == 0 ? Ok(ok(r)) : Err(err(r));
        }

        /// <summary>Writes this Result with the writers of both sides.</summary>
        public void Write(BsatnWriter w, Action<BsatnWriter, T> ok, Action<BsatnWriter, E> err)
        {
            if (IsOk) { w.WriteU8(0); ok(w, OkValue); } else { w.WriteU8(1); err(w, ErrValue); }
        }

        /// <inheritdoc/>
        public bool Equals(Result<T, E> other)
        {
            return other != null && IsOk == other.IsOk && (IsOk ? Equals(OkValue, other.OkValue) : Equals(ErrValue, other.ErrValue));
        }
        /// <inheritdoc/>
        public override bool Equals(object obj) { return Equals(obj as Result<T, E>); }
        /// <inheritdoc/>
        public override int GetHashCode() { return IsOk ? (OkValue == null ? 1 : OkValue.GetHashCode()) : (ErrValue == null ? 2 : ~ErrValue.GetHashCode()); }
        /// <inheritdoc/>
        public override string ToString() { return IsOk ? "Ok(" + OkValue + ")" : "Err(" + ErrValue + ")"; }
    }
}
