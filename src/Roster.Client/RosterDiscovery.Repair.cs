using Roster.Client.Api;
using Roster.Client.Discovery;

namespace Roster.Client;

/// <summary>The digest check: the registry's listing compared with each service's list, to repair what no event showed.</summary>
public sealed partial class RosterDiscovery
{
    private void RepairWhereNeeded(CancellationToken cancellationToken)
    {
        foreach (var model in _models.Values)
        {
            if (model.NeedsRepair)
            {
                Resync(model, cancellationToken);
            }
        }
    }

    private void OnDigestTick(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        foreach (var (service, since) in _unconfirmedEmptySince.ToArray())
        {
            if (_models.TryGetValue(service, out var model) && model.IsLoaded && model.Count == 0 && now - since >= _options.EmptyConfirmationPeriod)
            {
                // The registry has said "empty" for the whole confirmation period: believe it.
                Publish(model, confirmedEmpty: true);
            }
        }

        ConfirmFollowedEmpties(now);
        RepairWhereNeeded(cancellationToken);
        if (_models.Values.Any(m => m.IsLoaded))
        {
            _ = FetchListingAsync(cancellationToken);
        }
    }

    private async Task FetchListingAsync(CancellationToken cancellationToken)
    {
        try
        {
            var path = $"api/v1/namespaces/{Uri.EscapeDataString(_namespace)}/services";
            var listing = await _client.GetAsync(path, ClientJsonContext.Default.ServiceListAnswer, cancellationToken).ConfigureAwait(false);
            Post(new DiscoveryMessage.ListingLoaded(listing));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RosterUnavailableException or RosterRequestException or HttpRequestException or System.Text.Json.JsonException or InvalidDataException)
        {
            // The registry cannot be reached: the stream's reconnection deals with that; the next tick checks again.
        }
    }

    private void OnListing(ServiceListAnswer listing, CancellationToken cancellationToken)
    {
        var registry = listing.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var model in _models.Values)
        {
            if (!model.IsLoaded || model.ResyncPending)
            {
                continue;
            }

            if (registry.TryGetValue(model.Name, out var summary))
            {
                // A listing older than the stream (an event arrived since it was read) is not a divergence.
                if (summary.Sequence > model.Sequence || (summary.Sequence == model.Sequence && !model.Matches(summary.Digest)))
                {
                    Resync(model, cancellationToken);
                }
            }
            else if (model.Count > 0)
            {
                Resync(model, cancellationToken);
            }
        }
    }
}
