// The v2 WebSocket protocol (`v2.bsatn.spacetimedb`): every client and server message with
// its BSATN codec, row lists split into rows, and the server's compression envelope (one tag
// byte: 0 none, 1 brotli, 2 gzip). Both directions encode and decode, so tests can check the
// shared byte vectors either way. No I/O here.
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;

namespace SpacetimeDB.ClientApi
{
    /// <summary>A protocol violation: bytes that are not a valid message.</summary>
    public sealed class ProtocolException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ProtocolException(string message, Exception inner = null) : base(message, inner) { }
    }

    /// <summary>How the server compresses messages larger than 1 KiB (the <c>compression</c> query parameter).</summary>
    public enum Compression
    {
        /// <summary>Never compressed.</summary>
        None,
        /// <summary>Brotli: the server's default, which this SDK cannot read on Mono (no Brotli there).</summary>
        Brotli,
        /// <summary>Gzip.</summary>
        Gzip,
    }

    /// <summary>The server's compression envelope.</summary>
    public static class CompressionEnvelope
    {
        /// <summary>The body of a server frame: strips the tag byte and decompresses.</summary>
        public static byte[] Decompress(byte[] frame)
        {
            if (frame == null || frame.Length == 0) throw new ProtocolException("the server sent an empty frame; a frame starts with a compression tag byte");
            switch (frame[0])
            {
                case 0:
                    var body = new byte[frame.Length - 1];
                    Buffer.BlockCopy(frame, 1, body, 0, body.Length);
                    return body;
                case 1:
                    throw new ProtocolException("the server sent a Brotli-compressed message, which this SDK cannot decompress: connect with WithCompression(Compression.Gzip) or Compression.None");
                case 2:
                    try
                    {
                        using (var input = new MemoryStream(frame, 1, frame.Length - 1))
                        using (var gzip = new GZipStream(input, CompressionMode.Decompress))
                        using (var output = new MemoryStream())
                        {
                            gzip.CopyTo(output);
                            return output.ToArray();
                        }
                    }
                    catch (InvalidDataException e) { throw new ProtocolException("the server sent invalid gzip data", e); }
                default:
                    throw new ProtocolException(string.Format("unknown compression tag {0} in a server frame (expected 0 none, 1 brotli or 2 gzip)", frame[0]));
            }
        }
    }

    /// <summary>Encoded rows: a size hint (fixed row size or row start offsets) and the concatenated rows.</summary>
    public sealed class BsatnRowList
    {
        /// <summary>Every row has this many bytes (when <see cref="RowOffsets"/> is null).</summary>
        public readonly ushort FixedSize;
        /// <summary>The start offset of each row, or null when rows have a fixed size.</summary>
        public readonly List<ulong> RowOffsets;
        /// <summary>The rows' bytes, back to back.</summary>
        public readonly byte[] RowsData;

        /// <summary>Rows of <paramref name="fixedSize"/> bytes each.</summary>
        public BsatnRowList(ushort fixedSize, byte[] rowsData) { FixedSize = fixedSize; RowsData = rowsData; }
        /// <summary>Rows starting at <paramref name="offsets"/>.</summary>
        public BsatnRowList(List<ulong> offsets, byte[] rowsData) { RowOffsets = offsets; RowsData = rowsData; }

        /// <summary>An encoded list of the given rows (offsets form).</summary>
        public static BsatnRowList Of(IEnumerable<byte[]> rows)
        {
            var offsets = new List<ulong>();
            var w = new BsatnWriter();
            ulong at = 0;
            foreach (var row in rows) { offsets.Add(at); w.WriteRaw(row); at += (ulong)row.Length; }
            return new BsatnRowList(offsets, w.ToArray());
        }

        /// <summary>Splits the data into rows.</summary>
        public List<byte[]> Rows()
        {
            var rows = new List<byte[]>();
            if (RowOffsets == null)
            {
                if (FixedSize == 0)
                {
                    if (RowsData.Length != 0) throw new ProtocolException("a row list with fixed row size 0 has data");
                    return rows;
                }
                if (RowsData.Length % FixedSize != 0)
                    throw new ProtocolException(string.Format("a row list of {0} bytes is not a whole number of {1}-byte rows", RowsData.Length, FixedSize));
                for (int i = 0; i < RowsData.Length; i += FixedSize) rows.Add(Slice(i, FixedSize));
                return rows;
            }
            for (int k = 0; k < RowOffsets.Count; k++)
            {
                ulong start = RowOffsets[k];
                ulong stop = k + 1 < RowOffsets.Count ? RowOffsets[k + 1] : (ulong)RowsData.Length;
                if (start > stop || stop > (ulong)RowsData.Length)
                    throw new ProtocolException(string.Format("row offset {0} of a row list is out of order or past its {1} bytes", start, RowsData.Length));
                rows.Add(Slice((int)start, (int)(stop - start)));
            }
            return rows;
        }

        byte[] Slice(int start, int count)
        {
            var row = new byte[count];
            Buffer.BlockCopy(RowsData, start, row, 0, count);
            return row;
        }

        internal static BsatnRowList Read(BsatnReader r)
        {
            if (r.ReadTag(2, "RowSizeHint") == 0) { var size = r.ReadU16(); return new BsatnRowList(size, r.ReadBytes()); }
            var offsets = r.ReadArray(x => x.ReadU64());
            return new BsatnRowList(offsets, r.ReadBytes());
        }

        internal void Write(BsatnWriter w)
        {
            if (RowOffsets == null) { w.WriteU8(0); w.WriteU16(FixedSize); }
            else { w.WriteU8(1); w.WriteArray(RowOffsets, (x, o) => x.WriteU64(o)); }
            w.WriteBytes(RowsData);
        }
    }

    /// <summary>The rows of one table in a query result.</summary>
    public sealed class SingleTableRows
    {
        /// <summary>The table's wire name.</summary>
        public string Table;
        /// <summary>Its rows.</summary>
        public BsatnRowList Rows;
    }

    /// <summary>Rows grouped by table.</summary>
    public sealed class QueryRows
    {
        /// <summary>One entry per table.</summary>
        public List<SingleTableRows> Tables = new List<SingleTableRows>();

        internal static QueryRows Read(BsatnReader r)
        {
            return new QueryRows { Tables = r.ReadArray(x => new SingleTableRows { Table = x.ReadString(), Rows = BsatnRowList.Read(x) }) };
        }

        internal void Write(BsatnWriter w)
        {
            w.WriteArray(Tables, (x, t) => { x.WriteString(t.Table); t.Rows.Write(x); });
        }
    }

    /// <summary>Changed rows of one table: inserts and deletes of a stored table, or events of an event table.</summary>
    public sealed class TableUpdateRows
    {
        /// <summary>Whether these are event-table rows (<see cref="Inserts"/> then holds the events).</summary>
        public bool IsEvent;
        /// <summary>Inserted rows, or the events.</summary>
        public BsatnRowList Inserts;
        /// <summary>Deleted rows (null for events).</summary>
        public BsatnRowList Deletes;
    }

    /// <summary>Changes to one table within one query set.</summary>
    public sealed class TableUpdate
    {
        /// <summary>The table's wire name.</summary>
        public string TableName;
        /// <summary>Row chunks.</summary>
        public List<TableUpdateRows> Rows = new List<TableUpdateRows>();
    }

    /// <summary>Changes seen by one query set.</summary>
    public sealed class QuerySetUpdate
    {
        /// <summary>The query set.</summary>
        public uint QuerySetId;
        /// <summary>Its table changes.</summary>
        public List<TableUpdate> Tables = new List<TableUpdate>();
    }

    /// <summary>One transaction's changes, per query set.</summary>
    public sealed class TransactionUpdate
    {
        /// <summary>The query sets that changed.</summary>
        public List<QuerySetUpdate> QuerySets = new List<QuerySetUpdate>();

        internal static TransactionUpdate Read(BsatnReader r)
        {
            return new TransactionUpdate
            {
                QuerySets = r.ReadArray(q => new QuerySetUpdate
                {
                    QuerySetId = q.ReadU32(),
                    Tables = q.ReadArray(t => new TableUpdate
                    {
                        TableName = t.ReadString(),
                        Rows = t.ReadArray(c =>
                        {
                            if (c.ReadTag(2, "TableUpdateRows") == 0)
                            {
                                var inserts = BsatnRowList.Read(c);
                                return new TableUpdateRows { Inserts = inserts, Deletes = BsatnRowList.Read(c) };
                            }
                            return new TableUpdateRows { IsEvent = true, Inserts = BsatnRowList.Read(c) };
                        }),
                    }),
                }),
            };
        }

        internal void Write(BsatnWriter w)
        {
            w.WriteArray(QuerySets, (q, qs) =>
            {
                q.WriteU32(qs.QuerySetId);
                q.WriteArray(qs.Tables, (t, tu) =>
                {
                    t.WriteString(tu.TableName);
                    t.WriteArray(tu.Rows, (c, rows) =>
                    {
                        c.WriteU8(rows.IsEvent ? (byte)1 : (byte)0);
                        rows.Inserts.Write(c);
                        if (!rows.IsEvent) rows.Deletes.Write(c);
                    });
                });
            });
        }
    }

    /// <summary>A message from client to server.</summary>
    public abstract class ClientMessage
    {
        /// <summary>The variant tag.</summary>
        public abstract byte Tag { get; }
        /// <summary>Writes the fields after the tag.</summary>
        protected abstract void WriteFields(BsatnWriter w);

        /// <summary>The message's BSATN.</summary>
        public byte[] ToBytes()
        {
            var w = new BsatnWriter();
            w.WriteU8(Tag);
            WriteFields(w);
            return w.ToArray();
        }
    }

    /// <summary>Adds a query set (tag 0).</summary>
    public sealed class Subscribe : ClientMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>The new query set's id, unique among live ones.</summary>
        public uint QuerySetId;
        /// <summary>SQL <c>SELECT</c>s.</summary>
        public List<string> QueryStrings = new List<string>();
        /// <inheritdoc/>
        public override byte Tag { get { return 0; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w)
        {
            w.WriteU32(RequestId); w.WriteU32(QuerySetId); w.WriteArray(QueryStrings, (x, q) => x.WriteString(q));
        }
    }

    /// <summary>Ends a query set (tag 1).</summary>
    public sealed class Unsubscribe : ClientMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>The query set to end.</summary>
        public uint QuerySetId;
        /// <summary>Whether the reply lists the rows the set held (1) or not (0).</summary>
        public bool SendDroppedRows;
        /// <inheritdoc/>
        public override byte Tag { get { return 1; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w)
        {
            w.WriteU32(RequestId); w.WriteU32(QuerySetId); w.WriteU8(SendDroppedRows ? (byte)1 : (byte)0);
        }
    }

    /// <summary>Runs a query once (tag 2).</summary>
    public sealed class OneOffQuery : ClientMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>The SQL.</summary>
        public string QueryString;
        /// <inheritdoc/>
        public override byte Tag { get { return 2; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); w.WriteString(QueryString); }
    }

    /// <summary>Calls a reducer (tag 3).</summary>
    public sealed class CallReducer : ClientMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>Call flags; 0 is the only value.</summary>
        public byte Flags;
        /// <summary>The reducer's wire name.</summary>
        public string Reducer;
        /// <summary>The BSATN of the argument product.</summary>
        public byte[] Args = new byte[0];
        /// <inheritdoc/>
        public override byte Tag { get { return 3; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); w.WriteU8(Flags); w.WriteString(Reducer); w.WriteBytes(Args); }
    }

    /// <summary>Calls a procedure (tag 4).</summary>
    public sealed class CallProcedure : ClientMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>Call flags; 0 is the only value.</summary>
        public byte Flags;
        /// <summary>The procedure's wire name.</summary>
        public string Procedure;
        /// <summary>The BSATN of the argument product.</summary>
        public byte[] Args = new byte[0];
        /// <inheritdoc/>
        public override byte Tag { get { return 4; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); w.WriteU8(Flags); w.WriteString(Procedure); w.WriteBytes(Args); }
    }

    /// <summary>A message from server to client.</summary>
    public abstract class ServerMessage
    {
        /// <summary>The variant tag.</summary>
        public abstract byte Tag { get; }
        /// <summary>Writes the fields after the tag.</summary>
        protected abstract void WriteFields(BsatnWriter w);

        /// <summary>The message's BSATN.</summary>
        public byte[] ToBytes()
        {
            var w = new BsatnWriter();
            w.WriteU8(Tag);
            WriteFields(w);
            return w.ToArray();
        }

        /// <summary>Decodes one message (a decompressed frame body).</summary>
        public static ServerMessage FromBytes(byte[] body)
        {
            var r = new BsatnReader(body);
            ServerMessage m;
            try
            {
                switch (r.ReadTag(8, "ServerMessage"))
                {
                    case 0:
                        m = new InitialConnection { Identity = Identity.Read(r), ConnectionId = ConnectionId.Read(r), Token = r.ReadString() };
                        break;
                    case 1:
                        m = new SubscribeApplied { RequestId = r.ReadU32(), QuerySetId = r.ReadU32(), Rows = QueryRows.Read(r) };
                        break;
                    case 2:
                        m = new UnsubscribeApplied { RequestId = r.ReadU32(), QuerySetId = r.ReadU32(), Rows = r.ReadOption(QueryRows.Read) };
                        break;
                    case 3:
                        m = new SubscriptionError { RequestId = r.ReadOptionValue(x => x.ReadU32()), QuerySetId = r.ReadU32(), Error = r.ReadString() };
                        break;
                    case 4:
                        m = TransactionUpdateMessage.Of(TransactionUpdate.Read(r));
                        break;
                    case 5:
                        {
                            var id = r.ReadU32();
                            m = r.ReadTag(2, "Result") == 0
                                ? new OneOffQueryResult { RequestId = id, Rows = QueryRows.Read(r) }
                                : new OneOffQueryResult { RequestId = id, Error = r.ReadString() };
                            break;
                        }
                    case 6:
                        m = new ReducerResult { RequestId = r.ReadU32(), Timestamp = Timestamp.Read(r), Outcome = ReducerOutcome.Read(r) };
                        break;
                    default:
                        {
                            var returned = r.ReadTag(2, "ProcedureStatus") == 0;
                            var p = new ProcedureResult();
                            if (returned) p.Returned = r.ReadBytes(); else p.InternalError = r.ReadString();
                            p.Timestamp = Timestamp.Read(r);
                            p.TotalHostExecutionDuration = TimeDuration.Read(r);
                            p.RequestId = r.ReadU32();
                            m = p;
                            break;
                        }
                }
                r.EnsureEnd("server message");
            }
            catch (BsatnException e) { throw new ProtocolException("malformed server message: " + e.Message, e); }
            return m;
        }
    }

    /// <summary>The first message: who the client is (tag 0).</summary>
    public sealed class InitialConnection : ServerMessage
    {
        /// <summary>The client's identity.</summary>
        public Identity Identity;
        /// <summary>This connection's id.</summary>
        public ConnectionId ConnectionId;
        /// <summary>The token to reconnect as the same identity.</summary>
        public string Token;
        /// <inheritdoc/>
        public override byte Tag { get { return 0; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { Identity.Write(w); ConnectionId.Write(w); w.WriteString(Token); }
    }

    /// <summary>A query set's initial rows (tag 1).</summary>
    public sealed class SubscribeApplied : ServerMessage
    {
        /// <summary>The subscribe request.</summary>
        public uint RequestId;
        /// <summary>The query set.</summary>
        public uint QuerySetId;
        /// <summary>The matching rows.</summary>
        public QueryRows Rows;
        /// <inheritdoc/>
        public override byte Tag { get { return 1; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); w.WriteU32(QuerySetId); Rows.Write(w); }
    }

    /// <summary>A query set ended (tag 2).</summary>
    public sealed class UnsubscribeApplied : ServerMessage
    {
        /// <summary>The unsubscribe request.</summary>
        public uint RequestId;
        /// <summary>The query set.</summary>
        public uint QuerySetId;
        /// <summary>The rows it held, if asked for.</summary>
        public QueryRows Rows;
        /// <inheritdoc/>
        public override byte Tag { get { return 2; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); w.WriteU32(QuerySetId); w.WriteOption(Rows, (x, rows) => rows.Write(x)); }
    }

    /// <summary>A query set failed (tag 3): at subscribe time (request id set) or later (none).</summary>
    public sealed class SubscriptionError : ServerMessage
    {
        /// <summary>The failed request, or null for a live set that failed.</summary>
        public uint? RequestId;
        /// <summary>The query set, now dead.</summary>
        public uint QuerySetId;
        /// <summary>Why.</summary>
        public string Error;
        /// <inheritdoc/>
        public override byte Tag { get { return 3; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteOptionValue(RequestId, (x, v) => x.WriteU32(v)); w.WriteU32(QuerySetId); w.WriteString(Error); }
    }

    /// <summary>Another transaction's changes (tag 4).</summary>
    public sealed class TransactionUpdateMessage : ServerMessage
    {
        /// <summary>The changes.</summary>
        public TransactionUpdate Update = new TransactionUpdate();
        /// <summary>Wraps an update.</summary>
        public static TransactionUpdateMessage Of(TransactionUpdate u) { return new TransactionUpdateMessage { Update = u }; }
        /// <inheritdoc/>
        public override byte Tag { get { return 4; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { Update.Write(w); }
    }

    /// <summary>The answer to a one-off query (tag 5): rows, or an error.</summary>
    public sealed class OneOffQueryResult : ServerMessage
    {
        /// <summary>The request.</summary>
        public uint RequestId;
        /// <summary>The rows (null on error).</summary>
        public QueryRows Rows;
        /// <summary>The error (null on success).</summary>
        public string Error;
        /// <inheritdoc/>
        public override byte Tag { get { return 5; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w)
        {
            w.WriteU32(RequestId);
            if (Rows != null) { w.WriteU8(0); Rows.Write(w); } else { w.WriteU8(1); w.WriteString(Error ?? ""); }
        }
    }

    /// <summary>How a reducer call ended.</summary>
    public sealed class ReducerOutcome
    {
        /// <summary>0 ok, 1 ok-empty, 2 err, 3 internal error.</summary>
        public byte Kind;
        /// <summary>The BSATN return value (ok).</summary>
        public byte[] RetValue = new byte[0];
        /// <summary>The caller's view of the transaction (ok).</summary>
        public TransactionUpdate TransactionUpdate;
        /// <summary>The BSATN of the reducer's error value (err).</summary>
        public byte[] ErrValue;
        /// <summary>The host's message (internal error).</summary>
        public string InternalError;

        internal static ReducerOutcome Read(BsatnReader r)
        {
            var o = new ReducerOutcome { Kind = r.ReadTag(4, "ReducerOutcome") };
            switch (o.Kind)
            {
                case 0: o.RetValue = r.ReadBytes(); o.TransactionUpdate = TransactionUpdate.Read(r); break;
                case 2: o.ErrValue = r.ReadBytes(); break;
                case 3: o.InternalError = r.ReadString(); break;
            }
            return o;
        }

        internal void Write(BsatnWriter w)
        {
            w.WriteU8(Kind);
            switch (Kind)
            {
                case 0: w.WriteBytes(RetValue); TransactionUpdate.Write(w); break;
                case 2: w.WriteBytes(ErrValue); break;
                case 3: w.WriteString(InternalError); break;
            }
        }
    }

    /// <summary>The answer to this client's reducer call (tag 6).</summary>
    public sealed class ReducerResult : ServerMessage
    {
        /// <summary>The call.</summary>
        public uint RequestId;
        /// <summary>When the reducer ran.</summary>
        public Timestamp Timestamp;
        /// <summary>How it ended.</summary>
        public ReducerOutcome Outcome;
        /// <inheritdoc/>
        public override byte Tag { get { return 6; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w) { w.WriteU32(RequestId); Timestamp.Write(w); Outcome.Write(w); }
    }

    /// <summary>The answer to a procedure call (tag 7); note the field order: status first, request id last.</summary>
    public sealed class ProcedureResult : ServerMessage
    {
        /// <summary>The BSATN return value, or null on an internal error.</summary>
        public byte[] Returned;
        /// <summary>The host's message, or null when the procedure returned.</summary>
        public string InternalError;
        /// <summary>When it ran.</summary>
        public Timestamp Timestamp;
        /// <summary>How long it ran.</summary>
        public TimeDuration TotalHostExecutionDuration;
        /// <summary>The call.</summary>
        public uint RequestId;
        /// <inheritdoc/>
        public override byte Tag { get { return 7; } }
        /// <inheritdoc/>
        protected override void WriteFields(BsatnWriter w)
        {
            if (Returned != null) { w.WriteU8(0); w.WriteBytes(Returned); } else { w.WriteU8(1); w.WriteString(InternalError ?? ""); }
            Timestamp.Write(w); TotalHostExecutionDuration.Write(w); w.WriteU32(RequestId);
        }
    }
}
