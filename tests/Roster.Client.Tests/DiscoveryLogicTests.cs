using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Roster.Client.Diagnostics;

namespace Roster.Client.Tests;

/// <summary>
/// Discovery's own logic against <see cref="FakeRegistry"/>: gaps, resumption, divergence, a registry
/// that changed identity, the empty-list guard, the cache directory. Time is stepped by the test.
/// </summary>
public sealed class DiscoveryLogicTests : IAsyncDisposable
{
    private readonly FakeRegistry _registry = new();
    private readonly SteppedTimeProvider _time = new();
    private readonly RosterClient _client;
    private readonly List<RosterDiscovery> _discoveries = [];

    public DiscoveryLogicTests()
    {
        _client = _registry.CreateClient(_time);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var discovery in _discoveries)
        {
            await discovery.DisposeAsync();
        }

        _client.Dispose();
    }

    [Fact]
    public async Task First_request_loads_the_list_and_later_ones_are_answered_from_the_cache()
    {
        _registry.Upsert("orders", "a", 1);
        _registry.Upsert("orders", "b", 2);
        var discovery = Discover();

        var first = await discovery.GetEndpointsAsync("orders");

        Assert.Equal(["a", "b"], Ids(first));
        Assert.Equal(EndpointSource.Live, first.Source);
        Assert.Equal(2, first.Sequence);
        var again = discovery.GetEndpointsAsync("orders").AsTask();
        Assert.True(again.IsCompletedSuccessfully, "a known service is answered synchronously");
        Assert.Same(first, await again);
    }

    [Fact]
    public async Task Changes_arrive_through_the_watch_stream()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");

        _registry.Upsert("orders", "b", 2);
        await ListIsAsync(discovery, "orders", "a", "b");
        _registry.Delete("orders", "a");
        await ListIsAsync(discovery, "orders", "b");

        Assert.Single(_registry.WatchQueries);
        Assert.Empty(_registry.SnapshotRequests);
    }

    [Fact]
    public async Task A_sequence_gap_is_detected_and_repaired_from_a_snapshot()
    {
        using var resyncs = new MetricCollector<long>(RosterClientTelemetry.Resyncs);
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");

        _registry.Upsert("orders", "lost", 2, deliver: false);
        _registry.Upsert("orders", "c", 3);

        await ListIsAsync(discovery, "orders", "a", "c", "lost");
        Assert.Equal(["orders"], _registry.SnapshotRequests);
        Assert.Contains(resyncs.GetMeasurementSnapshot(), m => m.Value == 1 && Equals(m.Tags["roster.namespace"], FakeRegistry.Namespace));
        Assert.True(discovery.TryGetEndpoints("orders", out var repaired));
        Assert.Equal(3, repaired.Sequence);
    }

    [Fact]
    public async Task A_change_made_without_an_event_is_repaired_by_the_periodic_digest_check()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");

        // The only change is lost and nothing follows it: no gap can show; only the pull check can see it.
        _registry.Upsert("orders", "silent", 2, deliver: false);
        await Eventually.TrueAsync(() => _time.PendingTimers > 0, "the digest timer is waiting");
        _time.Advance(TimeSpan.FromSeconds(30));

        await ListIsAsync(discovery, "orders", "a", "silent");
    }

    [Fact]
    public async Task A_dropped_stream_resumes_after_the_last_revision_and_skips_what_it_already_has()
    {
        using var reconnects = new MetricCollector<long>(RosterClientTelemetry.WatchReconnects);
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");
        _registry.Upsert("orders", "b", 2);
        await ListIsAsync(discovery, "orders", "a", "b");

        _registry.EndStreams();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Cached, "lists are marked cached");
        _registry.Upsert("orders", "c", 3);
        await AdvanceUntilAsync(() => _registry.WatchQueries.Count == 2, "the stream reopens after its backoff");

        await ListIsAsync(discovery, "orders", "a", "b", "c");
        Assert.Contains("since=2", _registry.WatchQueries.Last(), StringComparison.Ordinal);
        Assert.Contains(reconnects.GetMeasurementSnapshot(), m => Equals(m.Tags["roster.namespace"], FakeRegistry.Namespace));
        Assert.True(discovery.TryGetEndpoints("orders", out var resumed));
        Assert.Equal(EndpointSource.Live, resumed.Source);
        Assert.Empty(_registry.SnapshotRequests);
    }

    [Fact]
    public async Task A_registry_with_a_new_identity_is_resynced_and_cannot_empty_the_list_until_it_confirms()
    {
        _registry.Upsert("orders", "a", 1);
        _registry.Upsert("orders", "b", 2);
        _registry.Upsert("orders", "c", 3);
        var discovery = Discover(o => o.EmptyConfirmationPeriod = TimeSpan.FromSeconds(60));
        await discovery.GetEndpointsAsync("orders");

        // The registry comes back empty under a new identity: its revisions and sequences start again.
        _registry.Rebuild("registry-two");
        await AdvanceUntilAsync(() => FreshWatches() == 2, "the stream starts over without a revision");
        await AdvanceUntilAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live, "the stream is back");

        Assert.Equal(["a", "b", "c"], Ids(discovery.TryGetEndpoints("orders", out var kept) ? kept : null!));

        // A provider registers again: the new registry's list, with its lower sequence, replaces the old.
        _registry.Upsert("orders", "b", 2);
        await ListIsAsync(discovery, "orders", "b");
        Assert.True(discovery.TryGetEndpoints("orders", out var fresh));
        Assert.Equal(1, fresh.Sequence);
    }

    [Fact]
    public async Task An_unconfirmed_empty_list_is_believed_after_the_confirmation_period()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover(o => o.EmptyConfirmationPeriod = TimeSpan.FromSeconds(60));
        await discovery.GetEndpointsAsync("orders");
        _registry.Rebuild("registry-two");
        await AdvanceUntilAsync(() => FreshWatches() == 2, "the stream starts over without a revision");

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(discovery.TryGetEndpoints("orders", out var stillKept));
        Assert.Single(stillKept.Endpoints);

        await AdvanceUntilAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints.IsEmpty, "the empty list is believed", step: TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Without_the_guard_an_empty_list_replaces_at_once()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover(o => o.EmptyListGuard = false);
        await discovery.GetEndpointsAsync("orders");
        _registry.Rebuild("registry-two");

        await AdvanceUntilAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints.IsEmpty, "the list empties");
    }

    [Fact]
    public async Task Deleting_the_last_instance_through_events_empties_the_list()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");

        _registry.Delete("orders", "a");

        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Endpoints.IsEmpty, "the registry's own delete empties the list");
    }

    [Fact]
    public async Task While_the_registry_is_down_lists_are_served_as_cached_with_their_age()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");

        _registry.Refusing = true;
        var lostAt = _time.GetUtcNow();
        _registry.EndStreams();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Cached, "the list is marked cached");
        _time.Advance(TimeSpan.FromSeconds(20));

        var cached = await discovery.GetEndpointsAsync("orders");
        Assert.Equal(["a"], Ids(cached));
        Assert.Equal(EndpointSource.Cached, cached.Source);
        Assert.Equal(lostAt, cached.UpdatedAt);
        Assert.True(cached.AgeAt(_time.GetUtcNow()) >= TimeSpan.FromSeconds(20));

        // The list-age gauge says the same: this list, cached, 20 s old.
        using var ages = new MetricCollector<double>(null, RosterClientTelemetry.Name, "roster.client.list.age");
        ages.RecordObservableInstruments();
        Assert.Contains(ages.GetMeasurementSnapshot(), m => m.Value >= 20 && Equals(m.Tags["roster.source"], "cached")
            && Equals(m.Tags["roster.service"], "orders") && Equals(m.Tags["roster.namespace"], FakeRegistry.Namespace));

        _registry.Refusing = false;
        await AdvanceUntilAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live, "the list is live again");
        Assert.Equal(TimeSpan.Zero, discovery.TryGetEndpoints("orders", out var live) ? live.AgeAt(_time.GetUtcNow()) : TimeSpan.MaxValue);
    }

    [Fact]
    public async Task A_process_started_during_an_outage_uses_the_cache_directory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "roster-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            _registry.Upsert("orders", "a", 1);
            _registry.Upsert("orders", "b", 2);
            var before = Discover(o => o.CacheDirectory = directory);
            await before.GetEndpointsAsync("orders");
            await AdvanceUntilAsync(() => File.Exists(Path.Combine(directory, FakeRegistry.Namespace, "orders.json")), "the list is saved");
            await before.DisposeAsync();

            _registry.Refusing = true;
            var after = Discover(o => o.CacheDirectory = directory);
            var task = after.GetEndpointsAsync("orders").AsTask();
            await AdvanceUntilAsync(() => task.IsCompleted, "the disk list is used");

            var fromDisk = await task;
            Assert.Equal(["a", "b"], Ids(fromDisk));
            Assert.Equal(EndpointSource.Disk, fromDisk.Source);

            // The registry comes back: the live list replaces the disk one.
            _registry.Refusing = false;
            _registry.Upsert("orders", "c", 3);
            await AdvanceUntilAsync(() => after.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live && e.Endpoints.Length == 3, "the live list replaces it");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Without_registry_or_cache_a_first_request_fails_after_the_resolve_timeout()
    {
        _registry.Refusing = true;
        var discovery = Discover(o => o.ResolveTimeout = TimeSpan.FromSeconds(5));

        var task = discovery.GetEndpointsAsync("orders").AsTask();
        await AdvanceUntilAsync(() => task.IsCompleted, "the request gives up");

        await Assert.ThrowsAsync<RosterUnavailableException>(() => task);
    }

    [Fact]
    public async Task Subscribers_see_the_current_list_and_every_later_one()
    {
        _registry.Upsert("orders", "a", 1);
        var discovery = Discover();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ServiceEndpoints>();
        using var subscription = discovery.Subscribe("orders", seen.Enqueue);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var watch = discovery.WatchAsync("orders", cancel.Token).GetAsyncEnumerator(cancel.Token);

        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(["a"], Ids(watch.Current));
        _registry.Upsert("orders", "b", 2);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(["a", "b"], Ids(watch.Current));
        await Eventually.TrueAsync(() => seen.LastOrDefault()?.Endpoints.Length == 2, "the callback saw the change");
    }

    [Fact]
    public async Task Service_names_are_checked_before_anything_is_sent()
    {
        var discovery = Discover();

        await Assert.ThrowsAsync<ArgumentException>(async () => await discovery.GetEndpointsAsync("../etc"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await discovery.GetEndpointsAsync("Orders"));
        Assert.Empty(_registry.WatchQueries);
    }

    private RosterDiscovery Discover(Action<RosterDiscoveryOptions>? configure = null)
    {
        var options = new RosterDiscoveryOptions { Namespace = FakeRegistry.Namespace };
        configure?.Invoke(options);
        var discovery = new RosterDiscovery(_client, options, _time);
        _discoveries.Add(discovery);
        return discovery;
    }

    private int FreshWatches() => _registry.WatchQueries.Count(q => !q.Contains("since", StringComparison.Ordinal));

    private static string[] Ids(ServiceEndpoints endpoints) => [.. endpoints.Endpoints.Select(e => e.Id)];

    private static Task ListIsAsync(RosterDiscovery discovery, string service, params string[] ids) =>
        Eventually.TrueAsync(
            () => discovery.TryGetEndpoints(service, out var e) && Ids(e).SequenceEqual(ids),
            $"{service} lists [{string.Join(", ", ids)}]");

    /// <summary>Steps the clock (backoffs, timers) until <paramref name="condition"/> holds.</summary>
    private async Task AdvanceUntilAsync(Func<bool> condition, string what, TimeSpan? step = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            _time.Advance(step ?? TimeSpan.FromMilliseconds(250));
            await Task.Delay(5);
        }
    }
}
