// The connection's engine: DbConnectionBase, the base of the generated DbConnection.
//
// The transport's thread and application calls (call a reducer or a procedure, run a one-off
// query, subscribe, unsubscribe, disconnect) only queue work; FrameTick, called by the application (each frame of a game,
// or in a console loop), runs the queued work in order on the caller's thread: it updates the
// cache, then runs callbacks. So every callback runs on the thread that calls FrameTick, and
// the cache is only ever touched there.
//
// While a dropped connection is being re-established, requests wait; after the server's
// initial message every live query set is resubscribed into a fresh cache, and once all have
// answered, the fresh cache replaces the old one and only the differences fire callbacks.
// Procedure calls and one-off queries that wait for an answer when the socket drops fail
// with ConnectionLostException: the server may or may not have run them.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using SpacetimeDB.ClientApi;

namespace SpacetimeDB
{
    /// <summary>The engine under a generated DbConnection: cache, requests and callbacks (the transport owns the socket).</summary>
    public abstract class DbConnectionBase : ITransportSink
    {
        enum Lifecycle { Connecting, Connected, Reconnecting, Ended }

        sealed class PendingCall
        {
            public IReducerArgs Args;
            public Action<ReducerEvent> Done;
        }

        /// <summary>A procedure call or one-off query waiting for its answer.</summary>
        sealed class Awaited
        {
            /// <summary>Handles the answer (a ProcedureResult or OneOffQueryResult with this request's id).</summary>
            public Action<ServerMessage> Answer;
            /// <summary>Fails the request: the connection ended or dropped; the text says which.</summary>
            public Action<string> Lost;
        }

        sealed class Resync
        {
            public ClientCache Cache;
            public HashSet<uint> Awaiting = new HashSet<uint>();
            public List<Action> NewlyApplied = new List<Action>();
            public List<Action> Ended = new List<Action>();
        }

        [ThreadStatic] static bool dispatching;

        readonly ConcurrentQueue<Action> work = new ConcurrentQueue<Action>();
        readonly AutoResetEvent workSignal = new AutoResetEvent(false);
        readonly List<IRemoteTableHandle> handles = new List<IRemoteTableHandle>();
        readonly Dictionary<string, IRemoteTableHandle> handlesByName = new Dictionary<string, IRemoteTableHandle>();
        readonly Dictionary<uint, SubState> subscriptions = new Dictionary<uint, SubState>();
        readonly Dictionary<uint, PendingCall> calls = new Dictionary<uint, PendingCall>();
        readonly Dictionary<uint, Awaited> awaited = new Dictionary<uint, Awaited>();
        readonly List<Action> deferred = new List<Action>();
        readonly object identityLock = new object();
        ITransport transport;
        ClientCache cache;
        Lifecycle lifecycle = Lifecycle.Connecting;
        Resync resync;
        uint nextRequestId = 1;
        int nextQuerySetId;
        volatile bool active = true;
        Identity? identity;
        ConnectionId? connectionId;
        string token;

        internal Action<Identity, string> onConnect;
        internal Action<Exception> onConnectError;
        internal Action<Exception> onDisconnect;
        internal Action<Identity, string> onReconnect;

        /// <summary>The client's identity, once the server has said it.</summary>
        public Identity? Identity { get { lock (identityLock) return identity; } }
        /// <summary>This connection's id, once the server has said it.</summary>
        public ConnectionId? ConnectionId { get { lock (identityLock) return connectionId; } }
        /// <summary>The token the server confirmed: save it to connect as the same identity later.</summary>
        public string Token { get { lock (identityLock) return token; } }
        /// <summary>Whether the connection has not ended (and <see cref="Disconnect"/> was not called).</summary>
        public bool IsActive { get { return active; } }
        /// <summary>Signalled when there is work for <see cref="FrameTick"/>: a loop can wait on it instead of polling.</summary>
        public WaitHandle WorkAvailable { get { return workSignal; } }

        /// <summary>
        /// Completes once the socket has closed for good after the connection ended. A program
        /// that exits right after <see cref="Disconnect"/> can wait on it (with a timeout) so the
        /// server sees a clean close.
        /// </summary>
        public Task Closed { get { return transport == null ? Task.FromResult(0) : transport.Stopped; } }

        /// <summary>The table names of the bindings, in registration order.</summary>
        protected internal IEnumerable<string> TableNames
        {
            get { foreach (var h in handles) yield return h.RemoteTableName; }
        }

        internal ClientCache Cache { get { return cache; } }

        internal void RegisterTable(IRemoteTableHandle handle)
        {
            if (transport != null) throw new InvalidOperationException("tables must be registered before the connection starts");
            handles.Add(handle);
            handlesByName[handle.RemoteTableName] = handle;
        }

        internal void Start(ITransport t)
        {
            var caches = new List<ITableCache>();
            foreach (var h in handles) caches.Add(h.NewCache());
            cache = new ClientCache(caches);
            transport = t;
            t.Start(this);
        }

        /// <summary>Runs this client's reducer-specific callbacks (the generated <c>OnX</c> events) for a finished call.</summary>
        protected abstract void InvokeReducer(ReducerEvent ev);

        void Enqueue(Action a)
        {
            work.Enqueue(a);
            workSignal.Set();
        }

        void ITransportSink.OnMessage(ServerMessage message) { Enqueue(() => HandleMessage(message)); }
        void ITransportSink.OnClosed(Exception error, bool willRetry) { Enqueue(() => HandleClosed(error, willRetry)); }

        /// <summary>
        /// Processes everything that arrived or was requested since the last call: cache updates,
        /// then their callbacks, on this thread. Call it regularly (each frame, or in a loop).
        /// </summary>
        /// <exception cref="InvalidOperationException">When called from inside one of this connection's callbacks.</exception>
        public void FrameTick()
        {
            if (dispatching) throw new InvalidOperationException("FrameTick cannot be called from inside a connection callback");
            dispatching = true;
            try
            {
                Action a;
                while (work.TryDequeue(out a)) a();
            }
            finally { dispatching = false; }
        }

        /// <summary>Closes the connection; <c>OnDisconnect</c> runs at the next FrameTick.</summary>
        public void Disconnect()
        {
            if (!active) return;
            active = false;
            Enqueue(() =>
            {
                switch (lifecycle)
                {
                    case Lifecycle.Connecting: Stop(); break; // cancelling is not a connection error
                    case Lifecycle.Connected: case Lifecycle.Reconnecting: EndConnection(null); break;
                }
            });
        }

        /// <summary>Calls a reducer; <paramref name="makeContext"/> turns its outcome into the generated context the task completes with.</summary>
        /// <remarks>The task completes during FrameTick, after the row callbacks of the call's transaction and the reducer's <c>OnX</c> event. It never faults: a call the connection could not complete ends with <see cref="StatusKind.InternalError"/>.</remarks>
        protected internal Task<TContext> CallReducer<TContext>(IReducerArgs args, Func<ReducerEvent, TContext> makeContext)
        {
            var done = new TaskCompletionSource<TContext>(TaskCreationOptions.RunContinuationsAsynchronously);
            Action<ReducerEvent> complete = ev =>
            {
                try { done.SetResult(makeContext(ev)); }
                catch (Exception e) { done.TrySetException(e); }
            };
            var call = new PendingCall { Args = args, Done = complete };
            if (!active)
            {
                FailCall(call, "the connection has ended; the reducer was not called");
                return done.Task;
            }
            Enqueue(() => ApplyCall(call));
            return done.Task;
        }

        /// <summary>
        /// Calls a procedure: <paramref name="writeArgs"/> writes its arguments, <paramref name="readReturn"/>
        /// reads its return value. The task completes (during FrameTick, after the row events of the
        /// transactions the procedure committed) with the value.
        /// </summary>
        /// <remarks>The task faults with <see cref="ProcedureException"/> if the procedure failed or its value does not decode, and with <see cref="ConnectionLostException"/> if the connection ended or dropped before the answer.</remarks>
        /// <exception cref="ArgumentNullException">At once, on the caller's thread, if an argument that is not an option is null (nothing is sent).</exception>
        protected internal Task<T> CallProcedure<T>(string procedure, Action<BsatnWriter> writeArgs, Func<BsatnReader, T> readReturn)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            var w = new BsatnWriter();
            writeArgs(w);
            var args = w.ToArray();
            var request = new Awaited
            {
                Answer = m =>
                {
                    var result = m as ProcedureResult;
                    if (result == null) done.TrySetException(new ProcedureException(procedure, "the server answered the call with a " + m.GetType().Name));
                    else if (result.Returned == null) done.TrySetException(new ProcedureException(procedure, result.InternalError));
                    else
                    {
                        try
                        {
                            var r = new BsatnReader(result.Returned);
                            var value = readReturn(r);
                            r.EnsureEnd("the return value of procedure `" + procedure + "`");
                            done.TrySetResult(value);
                        }
                        catch (BsatnException e)
                        {
                            done.TrySetException(new ProcedureException(procedure, "its return value does not decode as the bindings expect (re-run `spacetime generate`?): " + e.Message));
                        }
                    }
                },
                Lost = what => done.TrySetException(new ConnectionLostException("procedure `" + procedure + "`: " + what)),
            };
            if (!active) request.Lost("the connection has ended; the procedure was not called");
            else Enqueue(() => SendAwaited(request, id => new CallProcedure { RequestId = id, Procedure = procedure, Args = args }));
            return done.Task;
        }

        /// <summary>
        /// Runs one SQL <c>SELECT</c> on the server once, outside any subscription (the cache is not
        /// touched). The task completes during FrameTick; <c>result.RowsOf(conn.Db.X)</c> gives a table's rows typed.
        /// </summary>
        /// <remarks>The task faults with <see cref="QueryException"/> if the server refused or failed the query, and with <see cref="ConnectionLostException"/> if the connection ended or dropped before the answer.</remarks>
        public Task<QueryResult> Query(string sql)
        {
            var done = new TaskCompletionSource<QueryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var request = new Awaited
            {
                Answer = m =>
                {
                    var result = m as OneOffQueryResult;
                    if (result == null) done.TrySetException(new QueryException(sql, "the server answered the query with a " + m.GetType().Name));
                    else if (result.Rows == null) done.TrySetException(new QueryException(sql, result.Error));
                    else
                    {
                        try { done.TrySetResult(QueryResult.Of(sql, result.Rows, handlesByName)); }
                        catch (ProtocolException e) { done.TrySetException(new QueryException(sql, e.Message)); }
                    }
                },
                Lost = what => done.TrySetException(new ConnectionLostException("query `" + sql + "`: " + what)),
            };
            if (!active) request.Lost("the connection has ended; the query was not sent");
            else Enqueue(() => SendAwaited(request, id => new OneOffQuery { RequestId = id, QueryString = sql }));
            return done.Task;
        }

        void SendAwaited(Awaited request, Func<uint, ClientMessage> message)
        {
            if (RequestsWait) { deferred.Add(() => SendAwaited(request, message)); return; }
            if (lifecycle == Lifecycle.Ended) { request.Lost("the connection ended before the request was sent"); return; }
            uint id = nextRequestId++;
            awaited[id] = request;
            transport.Send(message(id));
        }

        void OnAwaitedAnswer(uint requestId, ServerMessage message)
        {
            Awaited request;
            if (!awaited.TryGetValue(requestId, out request))
            {
                Log.Warn("a " + message.GetType().Name + " for unknown request " + requestId);
                return;
            }
            awaited.Remove(requestId);
            request.Answer(message);
        }

        bool RequestsWait { get { return resync != null || lifecycle == Lifecycle.Reconnecting; } }

        void ApplyCall(PendingCall call)
        {
            if (RequestsWait) { deferred.Add(() => ApplyCall(call)); return; }
            if (lifecycle == Lifecycle.Ended) { FailCall(call, "the connection ended before the reducer call was sent"); return; }
            uint id = nextRequestId++;
            var w = new BsatnWriter();
            call.Args.WriteArgs(w);
            calls[id] = call;
            transport.Send(new CallReducer { RequestId = id, Reducer = call.Args.ReducerName, Args = w.ToArray() });
        }

        internal SubState NewSubscription(List<string> queries, Action onApplied, Action<Exception> onError)
        {
            var s = new SubState
            {
                Id = (uint)Interlocked.Increment(ref nextQuerySetId),
                Queries = queries,
                OnApplied = onApplied,
                OnError = onError,
            };
            Enqueue(() => ApplySubscribe(s));
            return s;
        }

        void ApplySubscribe(SubState s)
        {
            if (RequestsWait) { deferred.Add(() => ApplySubscribe(s)); return; }
            if (lifecycle == Lifecycle.Ended) { s.Status = SubStatus.Errored; return; }
            if (!s.UnsubscribeCalled)
            {
                s.Status = SubStatus.Sent;
                transport.Send(new Subscribe { RequestId = nextRequestId++, QuerySetId = s.Id, QueryStrings = new List<string>(s.Queries) });
            }
            subscriptions[s.Id] = s;
        }

        internal void RequestUnsubscribe(SubState s) { Enqueue(() => ApplyUnsubscribe(s)); }

        void ApplyUnsubscribe(SubState s)
        {
            if (RequestsWait) { deferred.Add(() => ApplyUnsubscribe(s)); return; }
            switch (s.Status)
            {
                case SubStatus.Pending:
                    // Cancelled before it was sent: end it here, without a word to the server.
                    s.Status = SubStatus.Ended;
                    subscriptions.Remove(s.Id);
                    RunCallback("subscription ended", s.OnEnded);
                    break;
                case SubStatus.Ended: case SubStatus.Errored:
                    subscriptions.Remove(s.Id);
                    break;
                default:
                    if (lifecycle == Lifecycle.Ended) return;
                    transport.Send(new Unsubscribe { RequestId = nextRequestId++, QuerySetId = s.Id, SendDroppedRows = true });
                    break;
            }
        }

        static void RunCallback(string what, Action a)
        {
            if (a == null) return;
            try { a(); }
            catch (Exception e) { Log.Callback(what, e); }
        }

        void HandleClosed(Exception error, bool willRetry)
        {
            if (lifecycle == Lifecycle.Ended) return;
            if (willRetry && lifecycle == Lifecycle.Connected) BeginReconnect(error);
            else if (willRetry && lifecycle == Lifecycle.Reconnecting) { }
            else EndConnection(error);
        }

        void HandleMessage(ServerMessage message)
        {
            if (lifecycle == Lifecycle.Ended) return;
            try { Dispatch(message); }
            catch (SpacetimeException e) { EndConnection(e); }
            catch (ProtocolException e) { EndConnection(new SpacetimeException(e.Message, e)); }
        }

        void Dispatch(ServerMessage message)
        {
            var initial = message as InitialConnection;
            if (initial != null) { OnInitialConnection(initial); return; }
            var applied = message as SubscribeApplied;
            if (applied != null) { OnSubscribeApplied(applied); return; }
            var unsub = message as UnsubscribeApplied;
            if (unsub != null) { OnUnsubscribeApplied(unsub); return; }
            var failed = message as SubscriptionError;
            if (failed != null) { OnSubscriptionError(failed); return; }
            var update = message as TransactionUpdateMessage;
            if (update != null)
            {
                if (resync != null) { resync.Cache.Apply(resync.Cache.ChangesOfUpdate(update.Update)); return; }
                RunRowCallbacks(cache.Apply(cache.ChangesOfUpdate(update.Update)), Event.Transaction);
                return;
            }
            var result = message as ReducerResult;
            if (result != null) { OnReducerResult(result); return; }
            var procedure = message as ProcedureResult;
            if (procedure != null) { OnAwaitedAnswer(procedure.RequestId, procedure); return; }
            var query = message as OneOffQueryResult;
            if (query != null) { OnAwaitedAnswer(query.RequestId, query); return; }
            Log.Warn("ignoring a server message of an unknown kind: " + message.GetType().Name);
        }

        void OnInitialConnection(InitialConnection ic)
        {
            lock (identityLock)
            {
                if (identity.HasValue && identity.Value != ic.Identity)
                    Log.Warn("the server assigned a different identity after reconnecting: " + ic.Identity);
                identity = ic.Identity;
                connectionId = ic.ConnectionId;
                token = ic.Token;
            }
            transport.SetToken(ic.Token);
            switch (lifecycle)
            {
                case Lifecycle.Connecting:
                    lifecycle = Lifecycle.Connected;
                    var cb = onConnect;
                    if (cb != null) RunCallback("connect", () => cb(ic.Identity, ic.Token));
                    break;
                case Lifecycle.Reconnecting:
                    lifecycle = Lifecycle.Connected;
                    BeginResync();
                    break;
                default:
                    Log.Warn("ignoring an unexpected second initial connection message");
                    break;
            }
        }

        void OnSubscribeApplied(SubscribeApplied applied)
        {
            uint qs = applied.QuerySetId;
            SubState sub;
            subscriptions.TryGetValue(qs, out sub);
            if (resync != null && resync.Awaiting.Contains(qs))
            {
                resync.Cache.Apply(resync.Cache.ChangesOfApplied(qs, applied.Rows));
                resync.Awaiting.Remove(qs);
                var cb = sub == null ? null : MarkApplied(sub);
                if (cb != null) resync.NewlyApplied.Add(cb);
                if (resync.Awaiting.Count == 0) FinishResync();
                return;
            }
            RunRowCallbacks(cache.Apply(cache.ChangesOfApplied(qs, applied.Rows)), Event.SubscribeApplied);
            if (sub == null) { Log.Warn("the server applied query set " + qs + ", which this client does not know"); return; }
            RunCallback("subscription applied", MarkApplied(sub));
        }

        /// <summary>Records that <paramref name="s"/> was applied and returns its OnApplied, unless it is being unsubscribed.</summary>
        static Action MarkApplied(SubState s)
        {
            if (s.Status != SubStatus.Sent) return null;
            s.Status = SubStatus.Applied;
            if (s.UnsubscribeCalled) return null;
            var cb = s.OnApplied;
            s.OnApplied = null;
            return cb;
        }

        void OnUnsubscribeApplied(UnsubscribeApplied unsub)
        {
            RunRowCallbacks(cache.Apply(cache.ChangesOfRemoved(unsub.QuerySetId)), Event.UnsubscribeApplied);
            SubState sub;
            if (!subscriptions.TryGetValue(unsub.QuerySetId, out sub)) return;
            subscriptions.Remove(unsub.QuerySetId);
            sub.Status = SubStatus.Ended;
            var cb = sub.OnEnded;
            sub.OnEnded = null;
            RunCallback("subscription ended", cb);
        }

        void OnSubscriptionError(SubscriptionError failed)
        {
            uint qs = failed.QuerySetId;
            var error = new SpacetimeException("subscription failed: " + failed.Error);
            bool inResync = resync != null && resync.Awaiting.Remove(qs);
            // A live set that failed holds rows no other set may hold: drop them.
            if (!inResync) RunRowCallbacks(cache.Apply(cache.ChangesOfRemoved(qs)), Event.SubscribeError(error));
            SubState sub;
            if (subscriptions.TryGetValue(qs, out sub))
            {
                subscriptions.Remove(qs);
                sub.Status = SubStatus.Errored;
                var cb = sub.OnError;
                sub.OnError = null;
                if (cb != null) RunCallback("subscription error", () => cb(error));
                else Log.Warn("subscription " + qs + " failed and has no OnError callback: " + failed.Error);
            }
            if (inResync && resync.Awaiting.Count == 0) FinishResync();
        }

        void OnReducerResult(ReducerResult result)
        {
            PendingCall call;
            if (calls.TryGetValue(result.RequestId, out call)) calls.Remove(result.RequestId);
            else Log.Warn("a reducer result for unknown request " + result.RequestId);
            Status status;
            TransactionUpdate update = null;
            switch (result.Outcome.Kind)
            {
                case 0: status = Status.Committed; update = result.Outcome.TransactionUpdate; break;
                case 1: status = Status.Committed; break;
                case 2: status = Status.Failed(DecodeError(result.Outcome.ErrValue)); break;
                default: status = Status.Internal(result.Outcome.InternalError); break;
            }
            ReducerEvent ev = call == null ? null : new ReducerEvent(result.Timestamp, status, call.Args, identity ?? default(Identity), connectionId);
            if (update != null)
            {
                var diffs = cache.Apply(cache.ChangesOfUpdate(update));
                RunRowCallbacks(diffs, ev == null ? Event.Transaction : Event.Reducer(ev));
            }
            if (call == null) return;
            RunCallback("reducer", () => InvokeReducer(ev));
            RunCallback("reducer completion", () => call.Done(ev));
        }

        static string DecodeError(byte[] bytes)
        {
            try
            {
                var r = new BsatnReader(bytes);
                var s = r.ReadString();
                r.EnsureEnd("reducer error");
                return s;
            }
            catch (BsatnException)
            {
                return string.Format("the reducer failed with an error value that is not a string ({0} bytes of BSATN)", bytes.Length);
            }
        }

        void RunRowCallbacks(List<ITableDiff> diffs, Event ev)
        {
            foreach (var diff in diffs) handlesByName[diff.Table].Invoke(diff, ev);
        }

        void FailCall(PendingCall call, string message)
        {
            var ev = new ReducerEvent(Timestamp.Now, Status.Internal(message), call.Args, Identity ?? default(Identity), ConnectionId);
            RunCallback("reducer completion", () => call.Done(ev));
        }

        /// <summary>Gives up every request waiting for an answer; <paramref name="how"/> says what became of the connection ("was lost", "ended").</summary>
        void FailCalls(string how)
        {
            var ids = new List<uint>(calls.Keys);
            ids.Sort();
            foreach (var id in ids)
            {
                var call = calls[id];
                calls.Remove(id);
                FailCall(call, "the connection " + how + " before the reducer's result arrived; it may or may not have run");
            }
            ids = new List<uint>(awaited.Keys);
            ids.Sort();
            foreach (var id in ids)
            {
                var request = awaited[id];
                awaited.Remove(id);
                request.Lost("the connection " + how + " before the answer arrived; it may or may not have run");
            }
        }

        void BeginReconnect(Exception error)
        {
            Log.Warn("connection lost (" + (error == null ? "closed" : error.Message) + "); reconnecting");
            lifecycle = Lifecycle.Reconnecting;
            resync = null;
            FailCalls("was lost");
        }

        void BeginResync()
        {
            var r = new Resync { Cache = cache.Fresh() };
            var ids = new List<uint>(subscriptions.Keys);
            ids.Sort();
            foreach (var id in ids)
            {
                var s = subscriptions[id];
                if (s.Status != SubStatus.Sent && s.Status != SubStatus.Applied) continue;
                if (!s.UnsubscribeCalled)
                {
                    transport.Send(new Subscribe { RequestId = nextRequestId++, QuerySetId = id, QueryStrings = new List<string>(s.Queries) });
                    r.Awaiting.Add(id);
                }
                else
                {
                    // Its unsubscribe died with the old connection; the new one never had it.
                    s.Status = SubStatus.Ended;
                    if (s.OnEnded != null) r.Ended.Add(s.OnEnded);
                    s.OnEnded = null;
                    subscriptions.Remove(id);
                }
            }
            resync = r;
            if (r.Awaiting.Count == 0) FinishResync();
        }

        void FinishResync()
        {
            var r = resync;
            if (r == null) return;
            resync = null;
            var diffs = cache.DiffTo(r.Cache);
            cache = r.Cache;
            RunRowCallbacks(diffs, Event.SubscribeApplied);
            foreach (var cb in r.NewlyApplied) RunCallback("subscription applied", cb);
            foreach (var cb in r.Ended) RunCallback("subscription ended", cb);
            var reconnected = onReconnect;
            if (reconnected != null && identity.HasValue) RunCallback("reconnect", () => reconnected(identity.Value, token));
            var waiting = new List<Action>(deferred);
            deferred.Clear();
            foreach (var a in waiting) a();
        }

        /// <summary>Stops the transport and marks the connection ended, without callbacks.</summary>
        void Stop()
        {
            lifecycle = Lifecycle.Ended;
            resync = null;
            active = false;
            transport.Shutdown();
        }

        /// <summary>Ends the connection and runs the connect-error or disconnect callback.</summary>
        void EndConnection(Exception error)
        {
            var was = lifecycle;
            if (was == Lifecycle.Ended) return;
            Stop();
            FailCalls("ended");
            foreach (var a in deferred) a(); // now fails each waiting call and subscription
            deferred.Clear();
            if (was == Lifecycle.Connecting)
            {
                var e = error ?? new SpacetimeException("the connection closed before the server's initial connection message");
                var cb = onConnectError;
                if (cb != null) RunCallback("connect error", () => cb(e));
                else Log.Warn("failed to connect: " + e.Message);
            }
            else
            {
                var cb = onDisconnect;
                if (cb != null) RunCallback("disconnect", () => cb(error));
            }
        }
    }
}
