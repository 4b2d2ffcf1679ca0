using System.Threading.Channels;

namespace Roster.Client.Discovery;

/// <summary>
/// One subscriber to a service's list. The discovery loop offers each new list with a non-blocking
/// write into a one-slot channel that keeps the newest, so a slow subscriber sees fewer, later lists
/// and never holds up the loop or the other subscribers. The subscriber reads on its own task; no SDK
/// lock is held while its code runs.
/// </summary>
internal sealed class EndpointSubscription
{
    private readonly Channel<ServiceEndpoints> _latest = Channel.CreateBounded<ServiceEndpoints>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });

    public EndpointSubscription(string service)
    {
        Service = service;
    }

    public string Service { get; }

    public ChannelReader<ServiceEndpoints> Reader => _latest.Reader;

    /// <summary>Called by the discovery loop only.</summary>
    public void Offer(ServiceEndpoints endpoints) => _latest.Writer.TryWrite(endpoints);

    /// <summary>Ends the subscriber's reading; called by the loop, or when the discovery stops.</summary>
    public void Complete() => _latest.Writer.TryComplete();
}
