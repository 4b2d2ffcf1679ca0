using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ServiceDiscovery;

namespace Roster.Client.ServiceDiscovery;

/// <summary>
/// One service's endpoints for Microsoft.Extensions.ServiceDiscovery, from Roster's discovery cache: the
/// instances that take new requests (not drained, not disabled, weight above 0), of the most preferred
/// scheme the query names that any instance offers, with a change token that fires when Roster's watch
/// changes the list. Once it has served a list it never fails: through a registry outage it serves the
/// list Roster keeps (and, should even that fail, the last one it served).
/// </summary>
internal sealed partial class RosterServiceEndpointProvider : IServiceEndpointProvider
{
    private readonly RosterDiscovery _discovery;
    private readonly string _service;
    private readonly string[] _schemes;
    private readonly ListChangeSignal _changes;
    private readonly ILogger _logger;
    private ServiceEndpoints? _lastServed;

    /// <param name="discovery">Roster's discovery for the namespace.</param>
    /// <param name="service">The service name.</param>
    /// <param name="schemes">Schemes in order of preference; empty: every scheme.</param>
    /// <param name="logger">Where resolutions and outages are reported.</param>
    public RosterServiceEndpointProvider(RosterDiscovery discovery, string service, string[] schemes, ILogger logger)
    {
        _discovery = discovery;
        _service = service;
        _schemes = schemes;
        _logger = logger;
        _changes = new ListChangeSignal(discovery, service);
    }

    public async ValueTask PopulateAsync(IServiceEndpointBuilder endpoints, CancellationToken cancellationToken)
    {
        if (endpoints.Endpoints.Count != 0)
        {
            // An earlier provider (configuration, Services:{name}) answered: it overrides the registry.
            Log.Overridden(_logger, _service);
            return;
        }

        // The token first, then the list: a change in between fires this token.
        endpoints.AddChangeToken(_changes.Token());
        ServiceEndpoints list;
        try
        {
            list = await _discovery.GetEndpointsAsync(_service, cancellationToken).ConfigureAwait(false);
        }
        catch (RosterUnavailableException e) when (Volatile.Read(ref _lastServed) is not null)
        {
            list = Volatile.Read(ref _lastServed)!;
            Log.ServingLastList(_logger, _service, e.Message);
        }

        _changes.HandedOut(list);
        Volatile.Write(ref _lastServed, list);
        var added = 0;
        foreach (var endpoint in TakingRequests(list.Endpoints, _schemes))
        {
            var resolved = Microsoft.Extensions.ServiceDiscovery.ServiceEndpoint.Create(new UriEndPoint(endpoint.ToUri()));
            resolved.Features.Set<IServiceEndpointProvider>(this);
            resolved.Features.Set(endpoint);
            endpoints.Endpoints.Add(resolved);
            added++;
        }

        Log.Resolved(_logger, _service, added, list.Endpoints.Length, list.Sequence, list.Source);
    }

    public ValueTask DisposeAsync()
    {
        _changes.Dispose();
        return default;
    }

    public override string ToString() => $"Roster ({_discovery.Namespace}/{_service})";

    /// <summary>
    /// The endpoints that take new requests, limited to the first scheme of <paramref name="schemes"/> that any
    /// of them offers (as the library's configuration provider does for <c>https+http://</c>); every scheme when
    /// <paramref name="schemes"/> is empty.
    /// </summary>
    internal static IEnumerable<InstanceEndpoint> TakingRequests(ImmutableArray<InstanceEndpoint> listed, string[] schemes)
    {
        var open = listed.Where(e => !e.Drained && e.Weight > 0);
        if (schemes.Length == 0)
        {
            return open;
        }

        foreach (var scheme in schemes)
        {
            var ofScheme = open.Where(e => string.Equals(e.Scheme, scheme, StringComparison.OrdinalIgnoreCase)).ToList();
            if (ofScheme.Count > 0)
            {
                return ofScheme;
            }
        }

        return [];
    }
}
