// Subscriptions: the connection's record of one query set (SubState), the handle an
// application keeps (SubscriptionHandle) and the builder generated code derives its
// SubscriptionBuilder from. A subscription is one query set on the server; its rows enter the
// shared, reference-counted client cache.
using System;
using System.Collections.Generic;

namespace SpacetimeDB
{
    internal enum SubStatus { Pending, Sent, Applied, Ended, Errored }

    /// <summary>One query set, shared by its handle and the connection.</summary>
    internal sealed class SubState
    {
        public uint Id;
        public List<string> Queries;
        public SubStatus Status = SubStatus.Pending;
        public bool UnsubscribeCalled;
        public Action OnApplied;
        public Action<Exception> OnError;
        public Action OnEnded;
    }


    /// <summary>A started subscription: watch it, or end it.</summary>
    public sealed class SubscriptionHandle<TSubscriptionContext>
    {
        readonly DbConnectionBase conn;
        readonly SubState state;
        readonly Func<TSubscriptionContext> makeContext;

        internal SubscriptionHandle(DbConnectionBase conn, SubState state, Func<TSubscriptionContext> makeContext)
        {
            this.conn = conn;
            this.state = state;
            this.makeContext = makeContext;
        }

        /// <summary>Whether the subscription is applied and not being ended.</summary>
        public bool IsActive { get { return state.Status == SubStatus.Applied && !state.UnsubscribeCalled; } }
        /// <summary>Whether the subscription has ended (unsubscribed or failed).</summary>
        public bool IsEnded { get { return state.Status == SubStatus.Ended || state.Status == SubStatus.Errored; } }
        /// <summary>The subscription's queries.</summary>
        public IList<string> Queries { get { return state.Queries.AsReadOnly(); } }

        /// <summary>Ends the subscription; its rows leave the cache.</summary>
        /// <exception cref="InvalidOperationException">If it was already ended or being ended.</exception>
        public void Unsubscribe() { UnsubscribeThen(null); }

        /// <summary>Ends the subscription; <paramref name="onEnded"/> runs once its rows have left the cache.</summary>
        /// <exception cref="InvalidOperationException">If it was already ended or being ended.</exception>
        public void UnsubscribeThen(Action<TSubscriptionContext> onEnded)
        {
            if (state.UnsubscribeCalled || IsEnded)
                throw new InvalidOperationException("the subscription was already ended (Unsubscribe called twice, or it failed)");
            state.UnsubscribeCalled = true;
            if (onEnded != null) state.OnEnded = () => onEnded(makeContext());
            conn.RequestUnsubscribe(state);
        }
    }

    /// <summary>Configures and starts a subscription; generated as <c>SubscriptionBuilder</c>.</summary>
    public abstract class SubscriptionBuilderBase<TSelf, TSubscriptionContext, TErrorContext>
        where TSelf : SubscriptionBuilderBase<TSelf, TSubscriptionContext, TErrorContext>
    {
        readonly DbConnectionBase conn;
        readonly Func<TSubscriptionContext> makeContext;
        readonly Func<Exception, TErrorContext> makeErrorContext;
        Action<TSubscriptionContext> onApplied;
        Action<TErrorContext, Exception> onError;

        /// <summary>A builder for <paramref name="conn"/> whose callbacks get contexts from the factories.</summary>
        protected SubscriptionBuilderBase(DbConnectionBase conn, Func<TSubscriptionContext> makeContext, Func<Exception, TErrorContext> makeErrorContext)
        {
            this.conn = conn;
            this.makeContext = makeContext;
            this.makeErrorContext = makeErrorContext;
        }

        /// <summary>Runs <paramref name="callback"/> once the initial rows are in the cache (after their OnInsert events).</summary>
        public TSelf OnApplied(Action<TSubscriptionContext> callback) { onApplied = callback; return (TSelf)this; }

        /// <summary>Runs <paramref name="callback"/> if the server rejects the queries, or the live subscription later fails (its rows are removed first).</summary>
        public TSelf OnError(Action<TErrorContext, Exception> callback) { onError = callback; return (TSelf)this; }

        /// <summary>Subscribes to <paramref name="queries"/> (SQL <c>SELECT</c>s) as one query set.</summary>
        public SubscriptionHandle<TSubscriptionContext> Subscribe(params string[] queries)
        {
            if (queries == null || queries.Length == 0) throw new ArgumentException("Subscribe needs at least one query, e.g. \"SELECT * FROM user\"");
            var applied = onApplied;
            var failed = onError;
            var state = conn.NewSubscription(
                new List<string>(queries),
                applied == null ? (Action)null : () => applied(makeContext()),
                failed == null ? (Action<Exception>)null : e => failed(makeErrorContext(e), e));
            return new SubscriptionHandle<TSubscriptionContext>(conn, state, makeContext);
        }

        /// <summary>Subscribes to every row of every table in the bindings (<c>SELECT * FROM t</c> each).</summary>
        public SubscriptionHandle<TSubscriptionContext> SubscribeToAllTables()
        {
            var queries = new List<string>();
            foreach (var t in conn.TableNames) queries.Add("SELECT * FROM " + t);
            return Subscribe(queries.ToArray());
        }
    }
}
