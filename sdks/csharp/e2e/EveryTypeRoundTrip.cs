// The all-features module's every_type table, round-tripped through a real server: builds two
// EveryType rows with extreme values of every column type (maxima, minima, negative zero,
// subnormal floats, every byte value, non-ASCII text), sends each through the reducer
// insert_every_type_row, reads it back from the subscription cache and compares it field by
// field (floats bit for bit). Prints one line per field that differs and exits 1 on any
// difference, timeout or error; compiled and run by tests/e2e/csharp_every_type.rs against
// bindings generated for the module.
//
// Usage: mono EveryTypeRoundTrip.exe --host URL --db NAME
using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Threading.Tasks;
using SpacetimeDB;
using SpacetimeDB.Types;

static class EveryTypeRoundTrip
{
    static readonly BigInteger Two128 = BigInteger.One << 128;
    static readonly BigInteger Two256 = BigInteger.One << 256;

    static byte[] Filled(int n, byte b) { return Enumerable.Repeat(b, n).ToArray(); }

    static EveryType Maxima(string marker)
    {
        return new EveryType(
            0, byte.MaxValue, ushort.MaxValue, uint.MaxValue, ulong.MaxValue, Two128 - 1, Two256 - 1,
            sbyte.MaxValue, short.MaxValue, int.MaxValue, long.MaxValue, (Two128 >> 1) - 1, (Two256 >> 1) - 1,
            float.MaxValue, double.MaxValue, true, marker + " h\u00e9llo, \u4e16\u754c \ud83d\ude80 \"quote\" \\ \n\t\0",
            Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), "some \u00e9",
            new Identity(Filled(32, 0xff)), new ConnectionId(Filled(16, 0xff)), new Timestamp(long.MaxValue),
            new TimeDuration(long.MaxValue), Uuid.FromBigInteger(Two128 - 1), new Point(double.MaxValue, double.Epsilon),
            Color.Blue, new Shape.Polygon(new List<Point> { new Point(-0.0, double.MinValue), new Point(1.5, -2.25) }));
    }

    static EveryType Minima(string marker)
    {
        return new EveryType(
            0, 0, 0, 0, 0, BigInteger.Zero, BigInteger.Zero,
            sbyte.MinValue, short.MinValue, int.MinValue, long.MinValue, -(Two128 >> 1), -(Two256 >> 1),
            -0.0f, double.MinValue, false, marker, new byte[0], null,
            new Identity(new byte[32]), new ConnectionId(new byte[16]), new Timestamp(long.MinValue),
            new TimeDuration(long.MinValue), Uuid.FromBigInteger(BigInteger.Zero), new Point(-0.0, -double.Epsilon),
            Color.Red, new Shape.Circle(float.Epsilon));
    }

    static string Bits(object v)
    {
        if (v is float) return BitConverter.ToString(BitConverter.GetBytes((float)v)) + " (" + v + ")";
        if (v is double) return BitConverter.ToString(BitConverter.GetBytes((double)v)) + " (" + v + ")";
        var p = v as Point;
        if (p != null) return "Point(" + Bits(p.X) + ", " + Bits(p.Y) + ")";
        var poly = v as Shape.Polygon;
        if (poly != null) return "Polygon[" + string.Join(", ", poly.Value.Select(Bits)) + "]";
        var circle = v as Shape.Circle;
        if (circle != null) return "Circle(" + Bits(circle.Value) + ")";
        var bytes = v as byte[];
        if (bytes != null) return BitConverter.ToString(bytes);
        return v == null ? "null" : v.ToString();
    }

    /// <summary>Compares every column but the id, floats bit for bit; returns the differences.</summary>
    static List<string> Compare(EveryType want, EveryType got)
    {
        var fields = new List<KeyValuePair<string, Func<EveryType, object>>>
        {
            F("a_u8", r => r.AU8), F("a_u16", r => r.AU16), F("a_u32", r => r.AU32), F("a_u64", r => r.AU64),
            F("a_u128", r => r.AU128), F("a_u256", r => r.AU256), F("a_i8", r => r.AI8), F("a_i16", r => r.AI16),
            F("a_i32", r => r.AI32), F("a_i64", r => r.AI64), F("a_i128", r => r.AI128), F("a_i256", r => r.AI256),
            F("a_f32", r => r.AF32), F("a_f64", r => r.AF64), F("a_bool", r => r.ABool), F("a_string", r => r.AString),
            F("a_bytes", r => r.ABytes), F("an_option", r => r.AnOption), F("an_identity", r => r.AnIdentity),
            F("a_connection_id", r => r.AConnectionId), F("a_timestamp", r => r.ATimestamp),
            F("a_time_duration", r => r.ATimeDuration), F("a_uuid", r => r.AUuid), F("a_point", r => r.APoint),
            F("a_color", r => r.AColor), F("a_shape", r => r.AShape),
        };
        var diffs = new List<string>();
        foreach (var f in fields)
        {
            string a = Bits(f.Value(want)), b = Bits(f.Value(got));
            if (a != b || !ValueEq.Equal(f.Value(want), f.Value(got))) diffs.Add(f.Key + ": sent " + a + ", read back " + b);
        }
        Console.WriteLine("compared {0} columns", fields.Count);
        return diffs;
    }

    static KeyValuePair<string, Func<EveryType, object>> F(string name, Func<EveryType, object> get)
    {
        return new KeyValuePair<string, Func<EveryType, object>>(name, get);
    }

    static int Main(string[] args)
    {
        string host = null, db = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--host") host = args[i + 1];
            else if (args[i] == "--db") db = args[i + 1];
        }
        if (host == null || db == null)
        {
            Console.Error.WriteLine("usage: EveryTypeRoundTrip.exe --host URL --db NAME");
            return 2;
        }
        string marker = "csharp-" + Guid.NewGuid().ToString("N");
        var sent = new[] { Maxima(marker + "-max"), Minima(marker + "-min") };
        var received = new Dictionary<string, EveryType>();
        var calls = new List<Task<ReducerEventContext>>();
        string failure = null;
        bool applied = false;
        bool finished = false;

        var conn = DbConnection.Builder().WithUri(host).WithDatabaseName(db)
            .OnConnectError(e => failure = "cannot connect: " + e.Message)
            .OnDisconnect((c, e) => { if (!finished) failure = failure ?? "disconnected: " + (e == null ? "closed" : e.Message); })
            .Build();
        conn.Db.EveryType.OnInsert += (ctx, row) =>
        {
            if (!row.AString.StartsWith(marker)) return;
            if (ctx.Event.Kind != EventKind.Reducer) failure = "the row arrived as " + ctx.Event.Kind + ", not as this client's reducer";
            // Read it back from the cache, not from the callback's argument.
            received[row.AString.Substring(0, marker.Length + 4)] = conn.Db.EveryType.Id.Find(row.Id);
        };
        conn.SubscriptionBuilder()
            .OnApplied(ctx =>
            {
                applied = true;
                foreach (var row in sent) calls.Add(ctx.Reducers.InsertEveryTypeRow(row));
            })
            .OnError((ctx, e) => failure = "subscription failed: " + e.Message)
            .Subscribe("SELECT * FROM every_type");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (failure == null && (received.Count < sent.Length || calls.Any(c => !c.IsCompleted)))
        {
            if (DateTime.UtcNow > deadline)
            {
                failure = string.Format("timed out: applied {0}, {1} of {2} rows back, {3} calls answered",
                    applied, received.Count, sent.Length, calls.Count(c => c.IsCompleted));
                break;
            }
            conn.WorkAvailable.WaitOne(100);
            conn.FrameTick();
        }
        if (failure != null)
        {
            Console.WriteLine("FAILED: " + failure);
            return 1;
        }
        foreach (var call in calls)
        {
            var status = call.Result.Event.Status;
            if (status.Kind != StatusKind.Committed) failure = "insert_every_type_row: " + status;
        }
        var diffs = new List<string>();
        foreach (var row in sent)
        {
            var key = row.AString.Substring(0, marker.Length + 4);
            var got = received[key];
            if (got == null) { diffs.Add(key + ": the row is not in the cache"); continue; }
            diffs.AddRange(Compare(row, got).Select(d => key.Substring(marker.Length + 1) + " " + d));
        }
        finished = true;
        conn.Disconnect();
        conn.FrameTick();
        conn.Closed.Wait(TimeSpan.FromSeconds(5));
        foreach (var d in diffs) Console.WriteLine("MISMATCH " + d);
        if (failure != null) Console.WriteLine("FAILED: " + failure);
        if (diffs.Count > 0 || failure != null) return 1;
        Console.WriteLine("round trip ok: {0} rows, every column equal", sent.Length);
        return 0;
    }
}
