using Roster.Client.Api;
using Roster.Client.Discovery;

namespace Roster.Client;

/// <summary>
/// The discovery loop: the one task that owns the mutable fields declared in the loop's partial files. It takes
/// messages from the inbox one at a time; the watch stream (<c>.Stream.cs</c>), the digest check that repairs
/// what no event showed (<c>.Repair.cs</c>) and the cache directory (<c>.DiskCache.cs</c>) are its other parts.
/// </summary>
public sealed partial class RosterDiscovery
{

    private readonly Dictionary<string, ServiceModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TaskCompletionSource<ServiceEndpoints>>> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<EndpointSubscription>> _subscribers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unconfirmedEmptySince = new(StringComparer.Ordinal);
    private CancellationTokenSource? _stream;
    private int _generation;
    private bool _streamOpen;
    private bool _streamResumed;
    private long? _revision;
    private string? _registryId;
    private int _failures;

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
            await StopAllFollowersAsync().ConfigureAwait(false);
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
                Diagnostics.RosterClientTelemetry.WatchReconnects.Add(1, new KeyValuePair<string, object?>("roster.namespace", _namespace));
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
            case DiscoveryMessage.SourcesChanged changed:
                OnSourcesChanged(changed.Sources, cancellationToken);
                break;
            case DiscoveryMessage.SourceReport report:
                OnSourceReport(report.Feed, report.Report);
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

        if (_sources.TryGetValue(service, out var source))
        {
            Follow(service, source, cancellationToken);
        }
        else if (!_models.ContainsKey(service))
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
}
