using Microsoft.Extensions.Primitives;

namespace Roster.Client.ServiceDiscovery;

/// <summary>
/// Turns Roster's pushed lists of one service into change tokens for Microsoft.Extensions.ServiceDiscovery:
/// each token fires when a list other than the last one handed out arrives. The library stops polling
/// once it holds a token with active callbacks, so this token must fire on every change, and does.
/// </summary>
/// <remarks>
/// Take the token before reading the list: a change that lands between the two then fires the token just
/// taken, and the library reads again (at worst once more than needed, never once too few).
/// </remarks>
internal sealed class ListChangeSignal : IDisposable
{
    private readonly IDisposable _subscription;
    private CancellationTokenSource _current = new();
    private ServiceEndpoints? _handedOut;

    public ListChangeSignal(RosterDiscovery discovery, string service)
    {
        _subscription = discovery.Subscribe(service, OnList);
    }

    /// <summary>A token that fires at the next list different from the one handed out last.</summary>
    public IChangeToken Token() => new CancellationChangeToken(Volatile.Read(ref _current).Token);

    /// <summary>Remembers the list the library was given, so its own echo from the subscription fires nothing.</summary>
    public void HandedOut(ServiceEndpoints list) => Volatile.Write(ref _handedOut, list);

    public void Dispose() => _subscription.Dispose();

    private void OnList(ServiceEndpoints list)
    {
        // Called one list at a time (the subscription's own task), so there is one writer of _current.
        if (Volatile.Read(ref _handedOut) is { } handedOut && SameEndpoints(handedOut, list))
        {
            return;
        }

        // The fired source is not disposed: a reader may still be taking its (already fired) token.
        Interlocked.Exchange(ref _current, new CancellationTokenSource()).Cancel();
    }

    /// <summary>Same service sequence and same endpoints: a change of source (live to cached) alone changes nothing the library sees.</summary>
    private static bool SameEndpoints(ServiceEndpoints a, ServiceEndpoints b) =>
        ReferenceEquals(a, b) || (a.Sequence == b.Sequence && a.Endpoints.SequenceEqual(b.Endpoints));
}
