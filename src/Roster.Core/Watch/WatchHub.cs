using System.Collections.Frozen;
using System.Collections.Immutable;
using Roster.Core.Model;
using Roster.Core.Serialization;
using Roster.Core.StateMachine;

namespace Roster.Core.Watch;

/// <summary>
/// Publishes each applied batch to readers and watchers.
/// <para>
/// Why one lock: a watcher that subscribes must get every change after its starting point exactly
/// once. Publishing (state, history, subscriber set) and subscribing (read state and history, join the
/// set) each happen inside <c>_lock</c>, so a change is either in the backlog a new subscriber reads or
/// sent to it live, never both and never neither. The lock covers only field updates and the history
/// scan: encoding and fan-out happen after it is released, and nothing under it awaits or calls out.
/// </para>
/// <para>
/// Readers never lock: <see cref="State"/> is an immutable snapshot in a volatile field, and the
/// subscriber set is an immutable dictionary swapped whole (seed 000: a watcher list appended to from
/// several threads lost watchers).
/// </para>
/// </summary>
public sealed class WatchHub
{
    private readonly Lock _lock = new();
    private readonly EventHistory _history;
    private readonly int _queueCapacity;
    private readonly string _registryId;
    private volatile RegistryState _state;
    private volatile ImmutableDictionary<string, ImmutableArray<WatchSubscription>> _subscribers =
        ImmutableDictionary<string, ImmutableArray<WatchSubscription>>.Empty.WithComparers(StringComparer.Ordinal);

    private long _slowConsumersDropped;

    public WatchHub(RegistryState initial, string registryId, int historyCapacity, int queueCapacity, IEnumerable<ChangeEvent>? history = null, long historyCoveredFrom = -1)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _state = initial;
        _registryId = registryId;
        _queueCapacity = queueCapacity;
        _history = new EventHistory(historyCapacity, historyCoveredFrom >= 0 ? historyCoveredFrom : initial.Revision);
        foreach (var change in history ?? [])
        {
            _history.Add(change);
        }
    }

    /// <summary>The latest published state. Lock-free.</summary>
    public RegistryState State => _state;

    public int SubscriberCount => _subscribers.Values.Sum(s => s.Length);

    /// <summary>The watches open on this node that receive <paramref name="service"/>'s changes: those of its namespace
    /// that watch every service or name this one. Lock-free (an immutable snapshot of the set).</summary>
    public IEnumerable<WatchSubscription> Receiving(string @namespace, string service) =>
        _subscribers.TryGetValue(@namespace, out var list) ? list.Where(s => s.Matches(service)) : [];

    public long SlowConsumersDropped => Interlocked.Read(ref _slowConsumersDropped);

    /// <summary>
    /// Publishes the state after a batch and its events. Called only by the applier. Never waits on a
    /// watcher: a full queue ends that watcher instead.
    /// </summary>
    public void Publish(RegistryState state, IReadOnlyList<ChangeEvent> events)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(events);
        ImmutableDictionary<string, ImmutableArray<WatchSubscription>> subscribers;
        lock (_lock)
        {
            _state = state;
            foreach (var change in events)
            {
                _history.Add(change);
            }

            subscribers = _subscribers;
        }

        if (subscribers.IsEmpty)
        {
            return;
        }

        foreach (var change in events)
        {
            if (!subscribers.TryGetValue(change.Namespace, out var watchers))
            {
                continue;
            }

            // Encoded once, on first need, and shared by every watcher of this change.
            WatchFrame? frame = null;
            foreach (var watcher in watchers)
            {
                if (watcher.Matches(change.Service))
                {
                    frame ??= new WatchFrame(change.Revision, RegistryJson.ChangeFrame(change));
                    watcher.Enqueue(frame.Value);
                }
            }
        }
    }

    /// <summary>
    /// Starts a watch on <paramref name="namespace"/> (only <paramref name="services"/> when given).
    /// With <paramref name="since"/> inside the retained history the stream replays every change after
    /// it; otherwise (no <paramref name="since"/>, too old, or newer than this registry knows) it starts
    /// with a reset carrying the full current list. <paramref name="client"/> says who watches, for operators.
    /// Without <paramref name="keepAlives"/> the subscription gets no keep-alive frames: a reader that only waits for
    /// the next change (a Consul blocking query) is then never woken for nothing.
    /// </summary>
    public WatchSubscription Subscribe(string @namespace, IEnumerable<string>? services, long? since, WatchClient? client = null, bool keepAlives = true)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        var filter = services?.ToFrozenSet(StringComparer.Ordinal);
        if (filter is { Count: 0 })
        {
            filter = null;
        }

        lock (_lock)
        {
            var state = _state;
            var resumable = since is { } from && from >= _history.CoveredFrom && from <= state.Revision;
            var backlog = resumable
                ? _history.After(since!.Value, c => c.Namespace == @namespace && (filter is null || filter.Contains(c.Service)))
                : [];
            var subscription = new WatchSubscription(
                this, @namespace, filter, _queueCapacity, resumable ? null : state, backlog, _registryId, resumable ? since!.Value : 0, client)
            {
                WantsKeepAlives = keepAlives,
            };
            var current = _subscribers.TryGetValue(@namespace, out var list) ? list : [];
            _subscribers = _subscribers.SetItem(@namespace, current.Add(subscription));
            return subscription;
        }
    }

    /// <summary>Sends a keep-alive comment to every watcher whose queue has room.</summary>
    public void SendKeepAlives()
    {
        foreach (var watchers in _subscribers.Values)
        {
            foreach (var watcher in watchers)
            {
                if (watcher.WantsKeepAlives)
                {
                    watcher.EnqueueKeepAlive();
                }
            }
        }
    }

    /// <summary>Ends every subscription, e.g. when the node stops.</summary>
    public void EndAll(string reason)
    {
        foreach (var watchers in _subscribers.Values)
        {
            foreach (var watcher in watchers)
            {
                watcher.End(reason);
            }
        }
    }

    /// <summary>
    /// The retained changes after <paramref name="since"/>, of <paramref name="namespace"/> (and of its
    /// <paramref name="service"/>) when given, oldest first, at most <paramref name="limit"/> (the audit); with the
    /// revision before which the history no longer reaches and the registry's revision when it was read.
    /// </summary>
    public (List<ChangeEvent> Changes, long CoveredFrom, long Revision) ReadHistory(long since, string? @namespace, string? service, int limit)
    {
        lock (_lock)
        {
            var changes = _history.After(
                since,
                c => (@namespace is null || c.Namespace == @namespace) && (service is null || c.Service == service),
                limit);
            return (changes, _history.CoveredFrom, _state.Revision);
        }
    }

    /// <summary>
    /// The retained changes of <paramref name="namespace"/> accepted at or after <paramref name="acceptedSince"/> (Unix
    /// milliseconds, by the clock of the node that accepted each), oldest first, with the state they lead to, read together.
    /// Walks back from the newest change, so it costs what the recent changes are, not the whole history.
    /// </summary>
    public (List<ChangeEvent> Changes, RegistryState State) ReadRecent(string @namespace, long acceptedSince)
    {
        lock (_lock)
        {
            var changes = _history.Newest(c => c.AcceptedAt >= acceptedSince, c => c.Namespace == @namespace);
            return (changes, _state);
        }
    }

    /// <summary>The retained history, for a checkpoint. Consistent with <see cref="State"/> read in the same call.</summary>
    public (RegistryState State, ChangeEvent[] History, long CoveredFrom) CaptureForCheckpoint()
    {
        lock (_lock)
        {
            return (_state, _history.ToArray(), _history.CoveredFrom);
        }
    }

    internal void OnSlowConsumer(WatchSubscription subscription)
    {
        Interlocked.Increment(ref _slowConsumersDropped);
        Unsubscribe(subscription);
    }

    internal void Unsubscribe(WatchSubscription subscription)
    {
        lock (_lock)
        {
            if (_subscribers.TryGetValue(subscription.Namespace, out var list))
            {
                var remaining = list.Remove(subscription);
                _subscribers = remaining.IsEmpty ? _subscribers.Remove(subscription.Namespace) : _subscribers.SetItem(subscription.Namespace, remaining);
            }
        }
    }
}
