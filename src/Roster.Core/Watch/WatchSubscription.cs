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

    internal WatchSubscription(
        WatchHub hub,
        string @namespace,
        FrozenSet<string>? services,
        int capacity,
        RegistryState? resetState,
        List<ChangeEvent> backlog,
        string registryId)
    {
        _hub = hub;
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

    /// <summary>True when the stream starts with a full snapshot instead of history.</summary>
    public bool StartsWithReset => _resetState is not null;

    /// <summary>Why the subscription ended (<c>slow-consumer</c>, <c>shutdown</c>), or null while it runs.</summary>
    public string? EndReason => Volatile.Read(ref _endReason);

    internal bool Matches(string service) => Services is null || Services.Contains(service);

    /// <summary>
    /// The frames to send, in order: the reset or the history backlog first, then live changes, each
    /// revision once. Ends when the subscription ends or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async IAsyncEnumerable<WatchFrame> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long last;
        if (_resetState is not null)
        {
            last = _resetState.Revision;
            yield return new WatchFrame(last, RegistryJson.ResetFrame(_resetState, _registryId, Namespace, Services));
        }
        else
        {
            last = 0;
        }

        foreach (var change in _backlog)
        {
            last = change.Revision;
            yield return new WatchFrame(change.Revision, RegistryJson.ChangeFrame(change));
        }

        _backlog.Clear();
        await foreach (var frame in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (frame.Revision == 0)
            {
                yield return frame;
            }
            else if (frame.Revision > last)
            {
                // Live frames at or below what the backlog delivered are the same changes: skip them.
                last = frame.Revision;
                yield return frame;
            }
        }
    }

    /// <summary>True when a frame is waiting, so a writer can batch frames before flushing.</summary>
    public bool HasQueuedFrames => _queue.Reader.Count > 0;

    internal void Enqueue(WatchFrame frame)
    {
        if (!_queue.Writer.TryWrite(frame) && End("slow-consumer"))
        {
            _hub.OnSlowConsumer(this);
        }
    }

    internal void EnqueueKeepAlive() => _queue.Writer.TryWrite(WatchFrame.KeepAlive);

    /// <summary>Ends the subscription with a reason. Returns false when it had already ended.</summary>
    internal bool End(string reason)
    {
        if (Interlocked.CompareExchange(ref _endReason, reason, null) is not null)
        {
            return false;
        }

        _queue.Writer.TryComplete();
        return true;
    }

    public void Dispose()
    {
        End("closed");
        _hub.Unsubscribe(this);
    }
}
