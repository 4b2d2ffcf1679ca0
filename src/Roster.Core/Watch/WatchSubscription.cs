using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Roster.Core.Model;
using Roster.Core.Serialization;
using Roster.Core.StateMachine;

namespace Roster.Core.Watch;

/// <summary>
/// One watcher: what it watches, where it starts, and its bounded queue of frames.
/// <para>
/// The applier writes with <c>TryWrite</c> and never waits: when the queue is full the subscription is
/// ended with reason <c>slow-consumer</c>, and the client resumes from the last revision it received.
/// </para>
/// </summary>
public sealed class WatchSubscription : IDisposable
{
    private readonly Channel<WatchFrame> _queue;
    private readonly WatchHub _hub;
    private readonly List<ChangeEvent> _backlog;
    private readonly RegistryState? _resetState;
    private readonly string _registryId;
    private string? _endReason;
    private readonly CancellationTokenSource _ended = new();

    // Written by the one reader of this subscription only; read by anyone (LastDelivered).
    private long _lastDelivered;

    internal WatchSubscription(
        WatchHub hub,
        string @namespace,
        FrozenSet<string>? services,
        int capacity,
        RegistryState? resetState,
        List<ChangeEvent> backlog,
        string registryId,
        long since,
        WatchClient? client)
    {
        _hub = hub;
        _lastDelivered = since;
        Client = client;
        Namespace = @namespace;
        Services = services;
        _resetState = resetState;
        _backlog = backlog;
        _registryId = registryId;
        _queue = Channel.CreateBounded<WatchFrame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public string Namespace { get; }

    /// <summary>The watched services, or null for the whole namespace.</summary>
    public IReadOnlySet<string>? Services { get; }

    /// <summary>Who holds this watch, when the host said (the console lists a service's subscribers).</summary>
    public WatchClient? Client { get; }

    /// <summary>The revision of the last change handed to the reader: where its client has got to.</summary>
    public long LastDelivered => Volatile.Read(ref _lastDelivered);

    /// <summary>True when the stream starts with a full snapshot instead of history.</summary>
    public bool StartsWithReset => _resetState is not null;

    /// <summary>Why the subscription ended (<c>slow-consumer</c>, <c>shutdown</c>), or null while it runs.</summary>
    public string? EndReason => Volatile.Read(ref _endReason);

    /// <summary>Cancelled when the subscription ends, so a reader blocked on a client that does not read
    /// (a flush waiting for socket space) stops at once instead of holding its buffers.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Whether this watch receives <paramref name="service"/>'s changes.</summary>
    public bool Matches(string service) => Services is null || Services.Contains(service);

    /// <summary>
    /// The frames to send, in order: the reset or the history backlog first, then live changes, each
    /// revision once. Ends when the subscription ends or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async IAsyncEnumerable<WatchFrame> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var frame in TakeStartFrames())
        {
            yield return frame;
        }

        while (await WaitForFramesAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryReadFrame(out var frame))
            {
                yield return frame;
            }
        }
    }

    /// <summary>The frames the stream starts with: a reset, or the changes after <c>since</c>. Call once, first.</summary>
    public IEnumerable<WatchFrame> TakeStartFrames()
    {
        if (_resetState is not null)
        {
            Volatile.Write(ref _lastDelivered, _resetState.Revision);
            yield return new WatchFrame(_resetState.Revision, RegistryJson.ResetFrame(_resetState, _registryId, Namespace, Services));
        }

        foreach (var change in _backlog)
        {
            Volatile.Write(ref _lastDelivered, change.Revision);
            yield return new WatchFrame(change.Revision, RegistryJson.ChangeFrame(change));
        }

        _backlog.Clear();
    }

    /// <summary>Waits until a live frame is queued; false once the subscription has ended and its queue is drained.</summary>
    public ValueTask<bool> WaitForFramesAsync(CancellationToken cancellationToken) => _queue.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>
    /// Takes the next live frame, if one is queued. Live frames at or below what the start frames
    /// delivered are the same changes, published while the subscription was being set up: skipped.
    /// </summary>
    public bool TryReadFrame(out WatchFrame frame)
    {
        while (_queue.Reader.TryRead(out frame))
        {
            if (frame.Revision == 0)
            {
                return true;
            }

            if (frame.Revision > _lastDelivered)
            {
                Volatile.Write(ref _lastDelivered, frame.Revision);
                return true;
            }
        }

        return false;
    }

    internal void Enqueue(WatchFrame frame)
    {
        if (!_queue.Writer.TryWrite(frame) && End(WatchEndReasons.SlowConsumer))
        {
            _hub.OnSlowConsumer(this);
        }
    }

    /// <summary>Whether the hub's keep-alive rounds write to this subscription (set once, at subscription).</summary>
    internal bool WantsKeepAlives { get; init; } = true;

    internal void EnqueueKeepAlive() => _queue.Writer.TryWrite(WatchFrame.KeepAlive);

    /// <summary>Ends the subscription with a reason. Returns false when it had already ended.</summary>
    internal bool End(string reason)
    {
        if (Interlocked.CompareExchange(ref _endReason, reason, null) is not null)
        {
            return false;
        }

        _queue.Writer.TryComplete();

        // Asynchronously: End runs on the applier, which never runs a reader's callbacks.
        _ = _ended.CancelAsync();
        return true;
    }

    public void Dispose()
    {
        End("closed");
        _hub.Unsubscribe(this);
    }
}
