namespace Roster.Core.Node;

/// <summary>Where one of the node's loops is.</summary>
public enum LoopState
{
    /// <summary>Not started (the catch-up loop runs only when a cluster node starts without its bus).</summary>
    NotStarted,
    Running,
    /// <summary>Ended normally: the node is stopping, or the loop's work was done.</summary>
    Stopped,
    /// <summary>Stopped on an error: the node is unhealthy (<c>/healthz</c> and <c>/readyz</c> answer 503).</summary>
    Faulted,
}

/// <summary>
/// One loop of the node as operators see it (the debug dump): its state, when it last finished a piece of work, and
/// the error that stopped it. Written only by its own loop (and <see cref="RegistryNode"/>'s runner around it), read by
/// anyone; every field is one atomic write. A running loop whose last progress is old while work waits for it (pending
/// writes, due leases) is stuck; an idle loop simply has nothing to do.
/// </summary>
public sealed class LoopHealth(string name)
{
    private int _state;
    private long _lastProgress;
    private string? _error;

    public string Name { get; } = name;

    public LoopState State => (LoopState)Volatile.Read(ref _state);

    /// <summary>When the loop last finished a piece of work (a batch applied or appended, an expiry pass, a keep-alive
    /// round), by the node's clock; null before the first.</summary>
    public DateTimeOffset? LastProgress => Interlocked.Read(ref _lastProgress) is var ms and > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>The error that stopped the loop, when it faulted.</summary>
    public string? Error => Volatile.Read(ref _error);

    internal void Started() => Volatile.Write(ref _state, (int)LoopState.Running);

    internal void Progressed(TimeProvider time) => Interlocked.Exchange(ref _lastProgress, time.GetUtcNow().ToUnixTimeMilliseconds());

    internal void Stopped() => Interlocked.CompareExchange(ref _state, (int)LoopState.Stopped, (int)LoopState.Running);

    internal void Faulted(Exception error)
    {
        Volatile.Write(ref _error, $"{error.GetType().Name}: {error.Message}");
        Volatile.Write(ref _state, (int)LoopState.Faulted);
    }

    /// <summary>
    /// Runs <paramref name="loop"/> as this loop: running while it runs, stopped when it returns, faulted (with
    /// <paramref name="onFault"/> called, to log it at Critical) when it throws. For loops outside the node (a cluster's
    /// bus connections) that the node reports with its own through <see cref="NodeStorage.Loops"/>.
    /// </summary>
    internal async Task RunAsync(Func<Task> loop, Action<Exception> onFault)
    {
        Started();
        try
        {
            await loop().ConfigureAwait(false);
            Stopped();
        }
        catch (Exception ex)
        {
            Faulted(ex);
            onFault(ex);
        }
    }
}
