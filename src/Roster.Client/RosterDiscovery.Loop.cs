using Microsoft.Extensions.Logging;
using Roster.Client.Api;
using Roster.Client.Connection;
using Roster.Client.Discovery;

namespace Roster.Client;

/// <summary>The discovery loop: the one task that owns every field declared here.</summary>
public sealed partial class RosterDiscovery
{
    private static readonly TimeSpan DiskWriteDelay = TimeSpan.FromMilliseconds(100);

    private readonly DiskCache? _disk;
    private readonly Dictionary<string, ServiceModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TaskCompletionSource<ServiceEndpoints>>> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<EndpointSubscription>> _subscribers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unconfirmedEmptySince = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CachedServiceFile> _unsaved = new(StringComparer.Ordinal);
    private CancellationTokenSource? _stream;
    private int _generation;
    private bool _streamOpen;
    private bool _streamResumed;
    private long? _revision;
    private string? _registryId;
    private int _failures;
    private bool _flushScheduled;
    private Task _diskWrites = Task.CompletedTask;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var digestTimer = _time.CreateTimer(
            _ => Post(new DiscoveryMessage.DigestTick()), null, _options.DigestCheckInterval, _options.DigestCheckInterval);
        try
        {
            await foreach (var message in _inbox.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                try
                {
                    Handle(message, cancellationToken);
                }
#pragma warning disable CA1031 // The loop must outlive a bug in handling one message: a dead loop would leave lists stale forever.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogHandlingFailed(_logger, message.GetType().Name, e);
                }
            }
        }
        finally
        {
            _stream?.Cancel();
            foreach (var waiting in _waiters.Values.SelectMany(w => w))
            {
                waiting.TrySetException(new ObjectDisposedException(nameof(RosterDiscovery)));
            }

            foreach (var subscription in _subscribers.Values.SelectMany(s => s))
            {
                subscription.Complete();
            }

            FlushDisk();
            await _diskWrites.ConfigureAwait(false);
        }
    }

    private void Handle(DiscoveryMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case DiscoveryMessage.Interest interest:
                OnInterest(interest.Service, interest.Waiter, cancellationToken);
                break;
            case DiscoveryMessage.Subscribe subscribe:
                OnSubscribe(subscribe.Subscription, cancellationToken);
                break;
            case DiscoveryMessage.Unsubscribe unsubscribe:
                if (_subscribers.TryGetValue(unsubscribe.Subscription.Service, out var subscribers))
                {
                    subscribers.Remove(unsubscribe.Subscription);
                }

                unsubscribe.Subscription.Complete();
                break;
            case DiscoveryMessage.StreamOpened opened when opened.Generation == _generation:
                OnStreamOpened(opened.RegistryId, cancellationToken);
                break;
            case DiscoveryMessage.StreamEvent { Data: ResetData reset } e when e.Generation == _generation:
                _failures = 0;
                OnReset(reset, cancellationToken);
                break;
            case DiscoveryMessage.StreamEvent { Data: ChangeData change } e when e.Generation == _generation:
                _failures = 0;
                OnChange(change, cancellationToken);
                break;
            case DiscoveryMessage.StreamEnded ended when ended.Generation == _generation:
                OnStreamEnded(ended.Reason, cancellationToken);
                break;
            case DiscoveryMessage.Reconnect reconnect when reconnect.Generation == _generation && !_streamOpen:
                OpenStream(resume: true, cancellationToken);
                break;
            case DiscoveryMessage.SnapshotLoaded loaded when _models.TryGetValue(loaded.Service, out var model):
                var snapshot = loaded.Snapshot;
                OnSnapshot(model, new ServiceData(model.Name, snapshot.Sequence, snapshot.Digest, snapshot.Instances), snapshot.RegistryId, cancellationToken);
                break;
            case DiscoveryMessage.SnapshotFailed failed when _models.TryGetValue(failed.Service, out var model):
                model.ResyncPending = false;
                model.Held.Clear();
                model.NeedsRepair = true;
                break;
            case DiscoveryMessage.DigestTick:
                OnDigestTick(cancellationToken);
                break;
            case DiscoveryMessage.ListingLoaded listing:
                OnListing(listing.Listing, cancellationToken);
                break;
            case DiscoveryMessage.DiskFallback fallback:
                OnDiskFallback(fallback.Service);
                break;
            case DiscoveryMessage.FlushDisk:
                FlushDisk();
                break;
            default:
                // A message from a stream this loop has already replaced.
                break;
        }
    }

    private void OnInterest(string service, TaskCompletionSource<ServiceEndpoints>? waiter, CancellationToken cancellationToken)
    {
        if (_cache.TryGet(_namespace, service, out var known))
        {
            waiter?.TrySetResult(known);
            return;
        }

        if (waiter is not null)
        {
            if (!_waiters.TryGetValue(service, out var waiting))
            {
                _waiters[service] = waiting = [];
            }

            waiting.Add(waiter);
        }

        if (!_models.ContainsKey(service))
        {
            _models[service] = new ServiceModel(service);

            // A new service needs its full list: a stream opened without a revision starts with a reset
            // holding the lists of every watched service at one revision, then continues from there.
            OpenStream(resume: false, cancellationToken);
            if (_disk is not null)
            {
                PostLater(new DiscoveryMessage.DiskFallback(service), _options.DiskFallbackDelay, cancellationToken);
            }
        }
    }

    private void OnSubscribe(EndpointSubscription subscription, CancellationToken cancellationToken)
    {
        if (!_subscribers.TryGetValue(subscription.Service, out var subscribers))
        {
            _subscribers[subscription.Service] = subscribers = [];
        }

        subscribers.Add(subscription);
        if (_cache.TryGet(_namespace, subscription.Service, out var current))
        {
            subscription.Offer(current);
        }
        else
        {
            OnInterest(subscription.Service, waiter: null, cancellationToken);
        }
    }

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

    private void Publish(ServiceModel model, bool confirmedEmpty)
    {
        var now = _time.GetUtcNow();
        var next = model.ToEndpoints(_namespace, EndpointSource.Live, now);

        // The loop is the cache's only writer and the model never goes back within one registry, so the
        // cache's sequence check is not needed here (and would wrongly refuse a new registry's lists).
        switch (_cache.Replace(next, confirmedEmpty || !_options.EmptyListGuard, anySequence: true))
        {
            case ReplaceOutcome.Replaced:
                _unconfirmedEmptySince.Remove(model.Name);
                Notify(next);
                SaveLater(model, now);
                break;
            case ReplaceOutcome.EmptyRefused:
                if (_unconfirmedEmptySince.TryAdd(model.Name, now))
                {
                    LogEmptyRefused(_logger, _namespace, model.Name, _options.EmptyConfirmationPeriod.TotalSeconds);
                }

                break;
            default:
                break;
        }
    }

    private void Notify(ServiceEndpoints endpoints)
    {
        if (_waiters.Remove(endpoints.Service, out var waiting))
        {
            // Each waiter continues on the thread pool (RunContinuationsAsynchronously), not on this loop.
            foreach (var waiter in waiting)
            {
                waiter.TrySetResult(endpoints);
            }
        }

        if (_subscribers.TryGetValue(endpoints.Service, out var subscribers))
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Offer(endpoints);
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

    private void OnDiskFallback(string service)
    {
        if (_disk is null || _cache.TryGet(_namespace, service, out _) || _disk.TryRead(_namespace, service) is not { } file)
        {
            return;
        }

        var saved = new ServiceModel(service);
        saved.Load(file.Service, file.RegistryId);
        var endpoints = saved.ToEndpoints(_namespace, EndpointSource.Disk, file.SavedAt);
        if (_cache.Replace(endpoints, confirmedEmpty: true, anySequence: true) == ReplaceOutcome.Replaced)
        {
            LogDiskFallback(_logger, _namespace, service, endpoints.Endpoints.Length, file.SavedAt);
            Notify(endpoints);
        }
    }

    private void SaveLater(ServiceModel model, DateTimeOffset now)
    {
        if (_disk is null || model.RegistryId is not { } registryId)
        {
            return;
        }

        _unsaved[model.Name] = new CachedServiceFile(registryId, _namespace, now, model.ToData());
        if (!_flushScheduled)
        {
            // Changes that come together are written together, a moment later, off this loop.
            _flushScheduled = true;
            PostLater(new DiscoveryMessage.FlushDisk(), DiskWriteDelay, CancellationToken.None);
        }
    }

    private void FlushDisk()
    {
        _flushScheduled = false;
        if (_disk is null || _unsaved.Count == 0)
        {
            return;
        }

        var batch = _unsaved.Values.ToArray();
        _unsaved.Clear();
        _diskWrites = WriteFilesAsync(_diskWrites, _disk, batch, _logger);
    }

    private static async Task WriteFilesAsync(Task previous, DiskCache disk, CachedServiceFile[] batch, ILogger logger)
    {
        // One write at a time, in order: an older list never overwrites a newer one.
        await previous.ConfigureAwait(false);
        await Task.Run(() =>
        {
            foreach (var file in batch)
            {
                try
                {
                    disk.Write(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    LogSaveFailed(logger, file.Namespace, file.Service.Name, e.Message);
                }
            }
        }).ConfigureAwait(false);
    }

    private void PostLater(DiscoveryMessage message, TimeSpan delay, CancellationToken cancellationToken)
    {
        _ = PostLaterAsync(message, delay, cancellationToken);
    }

    private async Task PostLaterAsync(DiscoveryMessage message, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            Post(message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Roster discovery failed to handle {Message}; the loop goes on")]
    private static partial void LogHandlingFailed(ILogger logger, string message, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster watch stream for namespace {Namespace} lost ({Reason}); lists are served from the cache until it is back")]
    private static partial void LogStreamLost(ILogger logger, string @namespace, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Roster watch stream for namespace {Namespace} still down ({Reason}), attempt {Attempt}")]
    private static partial void LogStreamStillDown(ILogger logger, string @namespace, string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Roster watch stream for namespace {Namespace} restored after {Attempts} failed attempts")]
    private static partial void LogStreamRestored(ILogger logger, string @namespace, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster registry for namespace {Namespace} changed identity ({Previous} to {Current}); lists are reloaded from it")]
    private static partial void LogRegistryChanged(ILogger logger, string @namespace, string previous, string current);

    [LoggerMessage(Level = LogLevel.Information, Message = "Roster service {Namespace}/{Service} missed changes (sequence {Known} to {Received}); resyncing from a snapshot")]
    private static partial void LogGap(ILogger logger, string @namespace, string service, long known, long received);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service} differs from the registry's after sequence {Sequence}; resyncing from a snapshot")]
    private static partial void LogDigestMismatch(ILogger logger, string @namespace, string service, long sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service}: the registry offered an unconfirmed empty list; the last one is kept unless it persists for {Seconds} s")]
    private static partial void LogEmptyRefused(ILogger logger, string @namespace, string service, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster service {Namespace}/{Service} is served from the cache directory ({Count} endpoints saved at {SavedAt}): the registry cannot be reached")]
    private static partial void LogDiskFallback(ILogger logger, string @namespace, string service, int count, DateTimeOffset savedAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Roster discovery could not save {Namespace}/{Service} to the cache directory: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string @namespace, string service, string reason);
}
