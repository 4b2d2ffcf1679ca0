using Roster.Client.Discovery;
using Roster.Client.Sources;

namespace Roster.Client;

/// <summary>
/// Services found somewhere other than the registry (<see cref="RosterDiscoveryOptions.Sources"/>): static lists, and
/// lists that a provider follows (etcd, ...) and reports through an <see cref="EndpointSourceFeed"/>. A followed list
/// goes through the same cache, empty-list guard, cache directory and notifications as the registry's.
/// </summary>
public sealed partial class RosterDiscovery
{
    private static readonly TimeSpan FirstSourceRestart = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastSourceRestart = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FollowerStopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The services whose list comes from configuration rather than from the registry, with their source.</summary>
    private readonly Dictionary<string, ConfiguredSource> _sources = new(StringComparer.Ordinal);

    /// <summary>The services a provider is following now (once asked for), each with the feed its reports must come through.</summary>
    private readonly Dictionary<string, SourceFollower> _followers = new(StringComparer.Ordinal);

    /// <summary>The tasks of providers told to stop that may not have returned yet: waited for when discovery stops.</summary>
    private readonly List<Task> _stoppedFollowers = [];

    private ServiceEndpoints StaticList(string service, ConfiguredSource source, DateTimeOffset now) =>
        new(_namespace, service, 0, StaticSource.Parse(source.Target), EndpointSource.Static, now) { Origin = source.Origin };

    private void OnSourcesChanged(IReadOnlyDictionary<string, ConfiguredSource> sources, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        foreach (var (service, source) in sources)
        {
            if (_sources.TryGetValue(service, out var before) && before.Target == source.Target)
            {
                continue;
            }

            // From the registry (or another source) to this one: the registry's events for it are ignored from now on, and
            // the list in use stays until the new source gives one.
            var wanted = _cache.TryGet(_namespace, service, out _) || _waiters.ContainsKey(service) || _subscribers.ContainsKey(service);
            StopFollowing(service, now);
            _models.Remove(service);
            _unconfirmedEmptySince.Remove(service);
            _sources[service] = source;
            if (source.Provider is null)
            {
                var list = StaticList(service, source, now);
                _cache.Replace(list, confirmedEmpty: true, anySequence: true);
                Notify(list);
            }
            else if (wanted)
            {
                Follow(service, source, cancellationToken);
            }

            LogSourceChanged(_logger, _namespace, service, source.Target);
        }

        foreach (var service in _sources.Keys.Where(s => !sources.ContainsKey(s)).ToList())
        {
            // Back to the registry: the list in use stays until the registry's list replaces it.
            _sources.Remove(service);
            StopFollowing(service, now);
            _unconfirmedEmptySince.Remove(service);
            _models[service] = new ServiceModel(service);
            OpenStream(resume: false, cancellationToken);
            LogSourceChanged(_logger, _namespace, service, "the registry");
        }
    }

    /// <summary>Starts the provider of <paramref name="source"/> on <paramref name="service"/>, once.</summary>
    private void Follow(string service, ConfiguredSource source, CancellationToken cancellationToken)
    {
        if (source.Provider is not { } provider || _followers.ContainsKey(service))
        {
            return;
        }

        var feed = new EndpointSourceFeed(service, source.Target, source.Origin, _time, _logger, (from, report) => Post(new DiscoveryMessage.SourceReport(from, report)));
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _followers[service] = new SourceFollower(feed, stop, RunFollowerAsync(provider, feed, stop.Token));
        if (_disk is not null)
        {
            PostLater(new DiscoveryMessage.DiskFallback(service), _options.DiskFallbackDelay, cancellationToken);
        }
    }

    /// <summary>Stops the service's provider; with <paramref name="now"/>, its list (kept until another replaces it) counts as out of date from then.</summary>
    private void StopFollowing(string service, DateTimeOffset? now = null)
    {
        if (_followers.Remove(service, out var follower))
        {
            if (now is { } since)
            {
                _cache.MarkCached(_namespace, service, since);
            }

            // Cancelled, its token stays usable by the provider after the source is disposed.
            follower.Stop.Cancel();
            follower.Stop.Dispose();
            _stoppedFollowers.Add(follower.Running);
            _stoppedFollowers.RemoveAll(t => t.IsCompleted);
        }
    }

    /// <summary>Stops every source and waits (a few seconds at most) until their providers have returned.</summary>
    private async Task StopAllFollowersAsync()
    {
        foreach (var service in _followers.Keys.ToList())
        {
            StopFollowing(service);
        }

        try
        {
            await Task.WhenAll(_stoppedFollowers).WaitAsync(FollowerStopTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A provider that ignores cancellation is left to finish on its own; discovery is stopped either way.
        }
    }

    /// <summary>Runs a provider until its service stops being followed; a provider that throws is logged, reported unreachable and started again after a pause.</summary>
    private async Task RunFollowerAsync(IEndpointSourceProvider provider, EndpointSourceFeed feed, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the provider's first steps run on the thread pool, not on the loop.
        var pause = FirstSourceRestart;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await provider.FollowAsync(feed.Target, feed, cancellationToken).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                LogSourceFailed(_logger, _namespace, feed.Service, feed.Target, "it stopped following the source", null);
                feed.Unreachable("the source provider stopped following the source");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A provider's bug must not end discovery of its service: the last list stays, marked out of date, and it runs again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogSourceFailed(_logger, _namespace, feed.Service, feed.Target, e.Message, e);
                feed.Unreachable($"the source provider failed: {e.Message}");
            }

            try
            {
                await Task.Delay(pause, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LastSourceRestart.Ticks));
        }
    }

    private void OnSourceReport(EndpointSourceFeed feed, object report)
    {
        if (!_followers.TryGetValue(feed.Service, out var follower) || !ReferenceEquals(follower.Feed, feed))
        {
            return; // from a source the service no longer follows
        }

        var now = _time.GetUtcNow();
        switch (report)
        {
            case EndpointSourceFeed.Listed listed:
                if (follower.Unreachable)
                {
                    follower.Unreachable = false;
                    LogSourceRestored(_logger, _namespace, feed.Service, feed.Target);
                }

                follower.Latest = listed;
                PublishFollowed(follower, listed, listed.Confirmed || !_options.EmptyListGuard, now);
                break;
            case EndpointSourceFeed.Lost lost:
                if (!follower.Unreachable)
                {
                    follower.Unreachable = true;
                    LogSourceLost(_logger, _namespace, feed.Service, feed.Target, lost.Reason);
                }

                _cache.MarkCached(_namespace, feed.Service, now);
                break;
            default:
                break;
        }
    }

    private void PublishFollowed(SourceFollower follower, EndpointSourceFeed.Listed listed, bool confirmedEmpty, DateTimeOffset now)
    {
        var feed = follower.Feed;
        var next = new ServiceEndpoints(_namespace, feed.Service, listed.Version, listed.Endpoints, EndpointSource.Live, now) { Origin = feed.Origin };
        if (_cache.TryGet(_namespace, feed.Service, out var current) && current.Source == EndpointSource.Live && current.Origin == next.Origin
            && current.Endpoints.SequenceEqual(next.Endpoints))
        {
            // The same list read again (after a reconnection): nothing changes for readers, but an empty list offered
            // before it was not the truth, and a later one starts its confirmation period afresh.
            _unconfirmedEmptySince.Remove(feed.Service);
            return;
        }

        switch (_cache.Replace(next, confirmedEmpty, anySequence: true))
        {
            case ReplaceOutcome.Replaced:
                _unconfirmedEmptySince.Remove(feed.Service);
                Notify(next);
                SaveLater(feed, listed, now);
                break;
            case ReplaceOutcome.EmptyRefused:
                if (_unconfirmedEmptySince.TryAdd(feed.Service, now))
                {
                    LogEmptyRefused(_logger, _namespace, feed.Service, _options.EmptyConfirmationPeriod.TotalSeconds);
                }

                break;
            default:
                break;
        }
    }

    /// <summary>Believes the empty lists that followed sources have given for the whole confirmation period.</summary>
    private void ConfirmFollowedEmpties(DateTimeOffset now)
    {
        foreach (var (service, since) in _unconfirmedEmptySince.ToArray())
        {
            if (_followers.TryGetValue(service, out var follower) && follower.Latest is { Endpoints.IsEmpty: true } latest
                && now - since >= _options.EmptyConfirmationPeriod)
            {
                PublishFollowed(follower, latest, confirmedEmpty: true, now);
            }
        }
    }

    private sealed class SourceFollower(EndpointSourceFeed feed, CancellationTokenSource stop, Task running)
    {
        public EndpointSourceFeed Feed { get; } = feed;

        public CancellationTokenSource Stop { get; } = stop;

        /// <summary>The provider's task: ends once <see cref="Stop"/> is cancelled and the provider has returned.</summary>
        public Task Running { get; } = running;

        /// <summary>The source's last list, kept or not.</summary>
        public EndpointSourceFeed.Listed? Latest { get; set; }

        /// <summary>The provider said the source cannot be reached and has listed nothing since.</summary>
        public bool Unreachable { get; set; }
    }
}
