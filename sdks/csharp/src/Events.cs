// What callbacks are told: the event behind a row change (this client's reducer, another
// client's transaction, a subscription applied or ended), a reducer call's outcome, the
// errors the SDK reports, and the log hook that receives exceptions thrown by callbacks.
using System;
using System.Collections;
using System.Collections.Generic;

namespace SpacetimeDB
{
    /// <summary>An error reported by the SDK: a failed connection, a rejected subscription, a protocol violation.</summary>
    public sealed class SpacetimeException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public SpacetimeException(string message, Exception inner = null) : base(message, inner) { }
    }

    /// <summary>The arguments of one reducer call: generated per reducer.</summary>
    public interface IReducerArgs
    {
        /// <summary>The reducer's wire name.</summary>
        string ReducerName { get; }
        /// <summary>Writes the arguments as a BSATN product.</summary>
        void WriteArgs(BsatnWriter w);
    }

    /// <summary>What caused a row callback.</summary>
    public enum EventKind
    {
        /// <summary>This client's reducer call committed; see <see cref="Event.ReducerEvent"/>.</summary>
        Reducer,
        /// <summary>A subscription's initial rows arrived (or a resubscription after a reconnect).</summary>
        SubscribeApplied,
        /// <summary>A subscription ended and its rows left.</summary>
        UnsubscribeApplied,
        /// <summary>A subscription failed and its rows left; see <see cref="Event.Error"/>.</summary>
        SubscribeError,
        /// <summary>The connection ended.</summary>
        Disconnected,
        /// <summary>Another client's transaction, or a scheduled reducer: v2 does not say which reducer.</summary>
        Transaction,
    }

    /// <summary>The event behind a row callback.</summary>
    public sealed class Event
    {
        /// <summary>What kind of event.</summary>
        public readonly EventKind Kind;
        /// <summary>The reducer call, when <see cref="Kind"/> is <see cref="EventKind.Reducer"/>.</summary>
        public readonly ReducerEvent ReducerEvent;
        /// <summary>The error, when <see cref="Kind"/> is <see cref="EventKind.SubscribeError"/>.</summary>
        public readonly Exception Error;

        Event(EventKind kind, ReducerEvent reducerEvent, Exception error) { Kind = kind; ReducerEvent = reducerEvent; Error = error; }

        /// <summary>Initial subscription rows.</summary>
        public static readonly Event SubscribeApplied = new Event(EventKind.SubscribeApplied, null, null);
        /// <summary>Rows of an ended subscription.</summary>
        public static readonly Event UnsubscribeApplied = new Event(EventKind.UnsubscribeApplied, null, null);
        /// <summary>Another client's transaction.</summary>
        public static readonly Event Transaction = new Event(EventKind.Transaction, null, null);
        /// <summary>The connection ended.</summary>
        public static readonly Event Disconnected = new Event(EventKind.Disconnected, null, null);
        /// <summary>This client's reducer call.</summary>
        public static Event Reducer(ReducerEvent e) { return new Event(EventKind.Reducer, e, null); }
        /// <summary>A failed subscription.</summary>
        public static Event SubscribeError(Exception e) { return new Event(EventKind.SubscribeError, null, e); }

        /// <inheritdoc/>
        public override string ToString() { return Kind == EventKind.Reducer ? "Reducer(" + ReducerEvent.Reducer.ReducerName + ")" : Kind.ToString(); }
    }

    /// <summary>How a reducer call ended.</summary>
    public enum StatusKind
    {
        /// <summary>It ran and its transaction committed.</summary>
        Committed,
        /// <summary>It returned an error; nothing changed. <see cref="Status.Message"/> holds the error.</summary>
        Failed,
        /// <summary>It panicked, did not exist, got bad arguments, ran out of energy, or the connection ended first.</summary>
        InternalError,
    }

    /// <summary>A reducer call's outcome.</summary>
    public sealed class Status
    {
        /// <summary>The kind of outcome.</summary>
        public readonly StatusKind Kind;
        /// <summary>The error message (null when committed).</summary>
        public readonly string Message;

        Status(StatusKind kind, string message) { Kind = kind; Message = message; }

        /// <summary>Committed.</summary>
        public static readonly Status Committed = new Status(StatusKind.Committed, null);
        /// <summary>The reducer returned an error.</summary>
        public static Status Failed(string message) { return new Status(StatusKind.Failed, message); }
        /// <summary>The host or the SDK reported an internal error.</summary>
        public static Status Internal(string message) { return new Status(StatusKind.InternalError, message); }

        /// <inheritdoc/>
        public override string ToString() { return Message == null ? Kind.ToString() : Kind + ": " + Message; }
    }

    /// <summary>This client's reducer call and how it ended.</summary>
    public sealed class ReducerEvent
    {
        /// <summary>When the reducer ran (or when the SDK gave up on it).</summary>
        public readonly Timestamp Timestamp;
        /// <summary>The outcome.</summary>
        public readonly Status Status;
        /// <summary>The call and its arguments: a generated <c>Reducer.X</c>.</summary>
        public readonly IReducerArgs Reducer;
        /// <summary>The caller: this client.</summary>
        public readonly Identity CallerIdentity;
        /// <summary>The caller's connection.</summary>
        public readonly ConnectionId? CallerConnectionId;

        /// <summary>Creates the event.</summary>
        public ReducerEvent(Timestamp timestamp, Status status, IReducerArgs reducer, Identity callerIdentity, ConnectionId? callerConnectionId)
        {
            Timestamp = timestamp; Status = status; Reducer = reducer; CallerIdentity = callerIdentity; CallerConnectionId = callerConnectionId;
        }
    }

    /// <summary>Where the SDK reports exceptions thrown by application callbacks and other problems it survives.</summary>
    public static class Log
    {
        /// <summary>Receives each warning; the default writes to standard error.</summary>
        public static Action<string> Warn = message => Console.Error.WriteLine("spacetimedb: " + message);

        internal static void Callback(string what, Exception e)
        {
            Warn(string.Format("a {0} callback threw: {1}", what, e));
        }
    }

    /// <summary>Deep value equality for generated types: lists and byte arrays compare by content.</summary>
    public static class ValueEq
    {
        /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> hold equal values.</summary>
        public static bool Equal(object a, object b)
        {
            if (ReferenceEquals(a, b)) return true;
            if (a == null || b == null) return false;
            var la = a as IList;
            var lb = b as IList;
            if (la != null && lb != null)
            {
                if (la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++) if (!Equal(la[i], lb[i])) return false;
                return true;
            }
            return a.Equals(b);
        }

        /// <summary>A hash consistent with <see cref="Equal"/>.</summary>
        public static int Hash(object a)
        {
            if (a == null) return 0;
            var list = a as IList;
            if (list == null) return a.GetHashCode();
            unchecked
            {
                int h = 17;
                foreach (var x in list) h = h * 31 + Hash(x);
                return h;
            }
        }

        /// <summary>Compares keys with <see cref="Equal"/>, for dictionaries keyed by column values.</summary>
        public sealed class Comparer : IEqualityComparer<object>
        {
            /// <summary>The one instance.</summary>
            public static readonly Comparer Instance = new Comparer();
            bool IEqualityComparer<object>.Equals(object a, object b) { return Equal(a, b); }
            int IEqualityComparer<object>.GetHashCode(object a) { return Hash(a); }
        }
    }
}
