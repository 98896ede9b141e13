// The socket side of a connection: a background task that opens the WebSocket
// (`v2.bsatn.spacetimedb`) with System.Net.WebSockets.ClientWebSocket, sends queued client
// messages one at a time (ClientWebSocket allows one send and one receive at once), reads
// and decodes server frames, and, when a ReconnectPolicy allows, re-opens a dropped
// connection with exponential backoff. It reports everything to the connection, which
// queues it for FrameTick; it never touches the cache or runs application callbacks.
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>
    /// When and how often to re-open a dropped connection: after <c>n</c> failed attempts in a
    /// row the next one waits <c>InitialDelay * 2^n</c>, at most <c>MaxDelay</c> (so the first
    /// attempt after a drop waits <c>InitialDelay</c>). The defaults are every SDK's: 500 ms
    /// doubling up to 30 s, retrying forever.
    /// </summary>
    public sealed class ReconnectPolicy
    {
        /// <summary>The wait before the first attempt; it doubles after each failed one.</summary>
        public TimeSpan InitialDelay = TimeSpan.FromMilliseconds(500);
        /// <summary>The longest wait between attempts.</summary>
        public TimeSpan MaxDelay = TimeSpan.FromSeconds(30);
        /// <summary>Give up (and run <c>OnDisconnect</c> with the error) after this many failed attempts in a row; null tries forever.</summary>
        public int? MaxAttempts;

        /// <summary>The wait before the next attempt, after <paramref name="failures"/> failed ones in a row (a negative count counts as none).</summary>
        public TimeSpan Delay(long failures)
        {
            long delay = Math.Max(InitialDelay.Ticks, 0);
            long max = Math.Max(MaxDelay.Ticks, 0);
            // Doubling stops at the cap, so a huge failure count takes a few steps and never overflows.
            for (long i = 0; i < failures && delay > 0 && delay < max; i++)
                delay = delay > max / 2 ? max : delay * 2;
            return TimeSpan.FromTicks(Math.Min(delay, max));
        }
    }

    /// <summary>What a transport tells its connection; called from the transport's thread.</summary>
    internal interface ITransportSink
    {
        void OnMessage(ServerMessage message);
        /// <summary>The socket closed; <paramref name="willRetry"/> says whether the transport is reconnecting.</summary>
        void OnClosed(Exception error, bool willRetry);
    }

    /// <summary>Carries messages between a connection and a server.</summary>
    internal interface ITransport
    {
        void Start(ITransportSink sink);
        /// <summary>Queues a message for the current socket; messages queued before a drop are discarded.</summary>
        void Send(ClientMessage message);
        /// <summary>The token to present when reconnecting.</summary>
        void SetToken(string token);
        /// <summary>Closes the socket and stops reconnecting.</summary>
        void Shutdown();
        /// <summary>Completes once the transport has stopped for good (its socket closed).</summary>
        Task Stopped { get; }
    }

    /// <summary>The real transport: a ClientWebSocket driven by a background task.</summary>
    internal sealed class WebSocketTransport : ITransport
    {
        /// <summary>The subprotocol of v2 binary messages.</summary>
        public const string Protocol = "v2.bsatn.spacetimedb";

        readonly Uri url;
        readonly ReconnectPolicy reconnect;
        readonly ConcurrentQueue<byte[]> outgoing = new ConcurrentQueue<byte[]>();
        readonly SemaphoreSlim outgoingSignal = new SemaphoreSlim(0);
        readonly CancellationTokenSource shutdown = new CancellationTokenSource();
        volatile string token;
        volatile bool stopping;
        volatile ClientWebSocket open;
        Task run = Task.FromResult(0);

        public WebSocketTransport(string url, string token, ReconnectPolicy reconnect)
        {
            this.url = new Uri(url);
            this.token = token;
            this.reconnect = reconnect;
        }

        /// <summary>
        /// The subscribe URL for a server base URI and database: http and a bare host:port become
        /// ws, https becomes wss; a path prefix on the URI is kept (without its trailing slash) and
        /// the database is percent-encoded as UTF-8, every byte but <c>A-Z a-z 0-9 - _ .</c>.
        /// </summary>
        /// <exception cref="ArgumentException">For a missing URI or database, an unsupported scheme, or a URI with a query string.</exception>
        public static string SubscribeUrl(string baseUri, string database, Compression compression, bool? confirmed)
        {
            if (string.IsNullOrEmpty(baseUri)) throw new ArgumentException("no server URI: call WithUri(\"http://localhost:3000\")");
            if (string.IsNullOrEmpty(database)) throw new ArgumentException("no database: call WithDatabaseName(name or identity)");
            if (!baseUri.Contains("://")) baseUri = "ws://" + baseUri;
            Uri parsed;
            if (!Uri.TryCreate(baseUri, UriKind.Absolute, out parsed)) throw new ArgumentException("`" + baseUri + "` is not a URI");
            string scheme;
            switch (parsed.Scheme)
            {
                case "ws": case "http": scheme = "ws"; break;
                case "wss": case "https": scheme = "wss"; break;
                default: throw new ArgumentException("unsupported URI scheme `" + parsed.Scheme + "`: use http, https, ws or wss");
            }
            if (!string.IsNullOrEmpty(parsed.Query)) throw new ArgumentException("the URI `" + baseUri + "` has a query string; give the server's base URI only");
            var sb = new StringBuilder();
            sb.Append(scheme).Append("://").Append(parsed.Authority).Append(parsed.AbsolutePath.TrimEnd('/'));
            sb.Append("/v1/database/");
            // By hand rather than Uri.EscapeDataString, whose set of kept characters differs
            // between runtimes; these are the bytes every SDK sends.
            foreach (var b in Encoding.UTF8.GetBytes(database))
            {
                bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_' || b == '.';
                if (unreserved) sb.Append((char)b);
                else sb.Append('%').Append(b.ToString("X2"));
            }
            sb.Append("/subscribe?compression=").Append(compression);
            if (confirmed.HasValue) sb.Append(confirmed.Value ? "&confirmed=true" : "&confirmed=false");
            return sb.ToString();
        }

        public void Start(ITransportSink sink) { run = Task.Run(() => Run(sink)); }

        public Task Stopped { get { return run; } }

        public void Send(ClientMessage message)
        {
            outgoing.Enqueue(message.ToBytes());
            outgoingSignal.Release();
        }

        public void SetToken(string token) { this.token = token; }

        public void Shutdown()
        {
            stopping = true;
            outgoingSignal.Release();
            // With a socket open, the send loop closes it politely; otherwise there is
            // nothing to close, so stop connecting or waiting to reconnect at once.
            var ws = open;
            if (ws == null || ws.State != WebSocketState.Open) shutdown.Cancel();
        }

        async Task Run(ITransportSink sink)
        {
            int failures = 0;
            bool first = true;
            while (true)
            {
                var session = new Session();
                Exception error = null;
                // Requests queued for a connection that dropped were failed by the
                // connection; they must not reach the new one. (The first session keeps
                // what was queued before it opened.)
                byte[] stale;
                if (!first) while (outgoing.TryDequeue(out stale)) { }
                try { await RunSession(sink, session).ConfigureAwait(false); }
                catch (Exception e) { error = e; }
                if (stopping)
                {
                    sink.OnClosed(null, false);
                    return;
                }
                if (session.GotMessage) failures = 0;
                else failures++;
                if (error == null) error = new SpacetimeException(session.CloseReason ?? "the server closed the connection");
                // A first connection that never got a message was refused (for example the
                // module's client_connected rejected us): retrying cannot help.
                bool retry = reconnect != null && !session.Fatal && (session.GotMessage || !first)
                    && (!reconnect.MaxAttempts.HasValue || failures < reconnect.MaxAttempts.Value);
                sink.OnClosed(error, retry);
                if (!retry) return;
                first = false;
                // `failures` is the number of attempts in a row that have failed so far: none
                // right after a drop, so the first retry waits InitialDelay.
                try { await Task.Delay(reconnect.Delay(failures), shutdown.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                if (stopping)
                {
                    sink.OnClosed(null, false);
                    return;
                }
            }
        }

        sealed class Session
        {
            public bool GotMessage;
            public bool Fatal;
            public string CloseReason;
        }

        async Task RunSession(ITransportSink sink, Session session)
        {
            using (var ws = new ClientWebSocket())
            using (var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token))
            {
                ws.Options.AddSubProtocol(Protocol);
                var t = token;
                if (!string.IsNullOrEmpty(t)) ws.Options.SetRequestHeader("Authorization", "Bearer " + t);
                try { await ws.ConnectAsync(url, shutdown.Token).ConfigureAwait(false); }
                catch (Exception e) { throw new SpacetimeException("cannot open a WebSocket to " + url + ": " + Describe(e), e); }
                open = ws;
                if (stopping) outgoingSignal.Release(); // Shutdown may have missed the socket
                var sending = SendLoop(ws, sessionEnd.Token);
                try { await ReceiveLoop(ws, sink, session, shutdown.Token).ConfigureAwait(false); }
                finally
                {
                    open = null;
                    // Also cancels the close timeout, so no timer outlives the session.
                    sessionEnd.Cancel();
                    try { await sending.ConfigureAwait(false); } catch (Exception) { }
                }
            }
        }

        static string Describe(Exception e)
        {
            var sb = new StringBuilder(e.Message);
            for (var inner = e.InnerException; inner != null; inner = inner.InnerException) sb.Append(": ").Append(inner.Message);
            return sb.ToString();
        }

        async Task SendLoop(ClientWebSocket ws, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                await outgoingSignal.WaitAsync(ct).ConfigureAwait(false);
                byte[] message;
                while (outgoing.TryDequeue(out message))
                    await ws.SendAsync(new ArraySegment<byte>(message), WebSocketMessageType.Binary, true, ct).ConfigureAwait(false);
                if (stopping)
                {
                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client disconnected", ct).ConfigureAwait(false);
                    // A server that never answers the close frame must not keep the socket open.
                    await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                    ws.Abort();
                    return;
                }
            }
        }

        async Task ReceiveLoop(ClientWebSocket ws, ITransportSink sink, Session session, CancellationToken ct)
        {
            var buffer = new byte[64 * 1024];
            var frame = new MemoryStream();
            while (true)
            {
                WebSocketReceiveResult result;
                try { result = await ws.ReceiveAsync(new ArraySegment<byte>(buffer), ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (stopping) { return; }
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    session.CloseReason = string.Format("the server closed the connection ({0} {1})", (int?)result.CloseStatus, result.CloseStatusDescription);
                    if (!stopping)
                    {
                        try { await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", ct).ConfigureAwait(false); } catch (Exception) { }
                    }
                    return;
                }
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    session.Fatal = true;
                    throw new SpacetimeException("the server sent a text frame, but protocol v2 is binary only");
                }
                frame.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var bytes = frame.ToArray();
                frame.SetLength(0);
                ServerMessage message;
                try { message = ServerMessage.FromBytes(CompressionEnvelope.Decompress(bytes)); }
                catch (ProtocolException e)
                {
                    session.Fatal = true;
                    throw new SpacetimeException(e.Message, e);
                }
                session.GotMessage = true;
                sink.OnMessage(message);
            }
        }
    }
}
