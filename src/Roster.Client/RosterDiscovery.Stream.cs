using Roster.Client.Api;
using Roster.Client.Connection;
using Roster.Client.Discovery;

namespace Roster.Client;

/// <summary>The watch stream: opening and resuming it, applying changes in each service's order, and snapshots when a service must be resynced.</summary>
public sealed partial class RosterDiscovery
{
    private void OpenStream(bool resume, CancellationToken cancellationToken)
    {
        // The old stream may still post a few messages; their generation no longer matches and they are ignored.
        _stream?.Cancel();
        _streamOpen = false;
        _generation++;
        if (_models.Count == 0)
        {
            return;
        }

        var since = resume ? _revision : null;
        _streamResumed = since is not null;
        _stream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var options = _client.Connection.Options;
        _ = WatchStream.RunAsync(
            _client.Connection, _namespace, [.. _models.Keys], since, _generation, _inbox.Writer,
            options.CallTimeout, _options.WatchIdleTimeout, _time, _stream.Token);
    }

    private void OnStreamOpened(string? registryId, CancellationToken cancellationToken)
    {
        _streamOpen = true;
        if (_failures > 0)
        {
            LogStreamRestored(_logger, _namespace, _failures);
        }

        if (registryId is not null && _registryId is not null && registryId != _registryId)
        {
            LogRegistryChanged(_logger, _namespace, _registryId, registryId);
            // Another registry (rebuilt, or restored from elsewhere): its revisions are not ours, so the
            // history a resumed stream would send means nothing. Start over from its full lists.
            _registryId = registryId;
            _revision = null;
            if (_streamResumed)
            {
                OpenStream(resume: false, cancellationToken);
                return;
            }
        }

        _registryId = registryId ?? _registryId;

        // The registry is reachable again and the stream delivers every change after our revision.
        _cache.MarkAllLive(_time.GetUtcNow());
        RepairWhereNeeded(cancellationToken);
    }

    private void OnStreamEnded(string reason, CancellationToken cancellationToken)
    {
        if (_failures == 0)
        {
            LogStreamLost(_logger, _namespace, reason);
        }
        else
        {
            LogStreamStillDown(_logger, _namespace, reason, _failures);
        }

        _streamOpen = false;
        var now = _time.GetUtcNow();
        _cache.MarkAllCached(now);
        foreach (var service in _waiters.Keys.ToArray())
        {
            // Callers waiting for a first list need not wait out the fallback delay: the registry just failed.
            OnDiskFallback(service);
        }

        var options = _client.Connection.Options;
        var delay = Backoff.Delay(_failures++, options.InitialBackoff, options.MaxBackoff, Random.Shared.NextDouble());
        PostLater(new DiscoveryMessage.Reconnect(_generation), delay, cancellationToken);
    }

    private void OnReset(ResetData reset, CancellationToken cancellationToken)
    {
        _registryId = reset.RegistryId;
        _revision = reset.Revision;
        foreach (var service in reset.Services)
        {
            if (_models.TryGetValue(service.Name, out var model))
            {
                OnSnapshot(model, service, reset.RegistryId, cancellationToken);
            }
        }
    }

    private void OnChange(ChangeData change, CancellationToken cancellationToken)
    {
        if (_revision is not { } revision || change.Revision > revision)
        {
            _revision = change.Revision;
        }

        if (!_models.TryGetValue(change.Service, out var model) || !model.IsLoaded)
        {
            return;
        }

        if (model.ResyncPending)
        {
            model.Held.Add(change);
            return;
        }

        ApplyInOrder(model, change, cancellationToken);
    }

    private void ApplyInOrder(ServiceModel model, ChangeData change, CancellationToken cancellationToken)
    {
        if (change.Sequence <= model.Sequence)
        {
            // Already applied: an overlapping resumed stream, or an event a snapshot already covered.
            return;
        }

        if (change.Sequence > model.Sequence + 1)
        {
            LogGap(_logger, _namespace, model.Name, model.Sequence, change.Sequence);
            // A change to this service was never delivered: fetch its full list and apply what follows it.
            Resync(model, cancellationToken);
            model.Held.Add(change);
            return;
        }

        model.Apply(change);
        if (!model.Matches(change.Digest))
        {
            LogDigestMismatch(_logger, _namespace, model.Name, change.Sequence);
            // The list built here is not the registry's: repair it from a snapshot rather than serve it.
            Resync(model, cancellationToken);
            return;
        }

        // The registry's own event, next in sequence: an empty list it produces is confirmed.
        Publish(model, confirmedEmpty: true);
    }

    private void OnSnapshot(ServiceModel model, ServiceData snapshot, string registryId, CancellationToken cancellationToken)
    {
        var sameRegistry = model.RegistryId == registryId;
        if (!(sameRegistry && model.IsLoaded && snapshot.Sequence < model.Sequence))
        {
            var confirmedEmpty = sameRegistry && model.IsLoaded && snapshot.Sequence > model.Sequence;
            model.Load(snapshot, registryId);
            Publish(model, confirmedEmpty);
        }

        model.ResyncPending = false;
        model.NeedsRepair = false;
        if (model.Held.Count > 0)
        {
            var held = model.Held.OrderBy(c => c.Sequence).ToArray();
            model.Held.Clear();
            foreach (var change in held)
            {
                if (model.ResyncPending)
                {
                    model.Held.Add(change);
                }
                else
                {
                    ApplyInOrder(model, change, cancellationToken);
                }
            }
        }
    }

    private void Resync(ServiceModel model, CancellationToken cancellationToken)
    {
        if (model.ResyncPending)
        {
            return;
        }

        model.ResyncPending = true;
        Diagnostics.RosterClientTelemetry.Resyncs.Add(1, new KeyValuePair<string, object?>("roster.namespace", _namespace));
        _ = FetchSnapshotAsync(model.Name, cancellationToken);
    }

    private async Task FetchSnapshotAsync(string service, CancellationToken cancellationToken)
    {
        try
        {
            var path = $"api/v1/namespaces/{Uri.EscapeDataString(_namespace)}/services/{Uri.EscapeDataString(service)}";
            var snapshot = await _client.GetAsync(path, ClientJsonContext.Default.SnapshotAnswer, cancellationToken).ConfigureAwait(false);
            Post(new DiscoveryMessage.SnapshotLoaded(service, snapshot));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RosterUnavailableException or RosterRequestException or HttpRequestException or System.Text.Json.JsonException or InvalidDataException)
        {
            Post(new DiscoveryMessage.SnapshotFailed(service, e.Message));
        }
    }
}
