using System.Collections.Concurrent;
using Roster.Client.Sources;

namespace Roster.Client.Tests.Sources;

/// <summary>
/// The discovery loop's side of <see cref="IEndpointSourceProvider"/>, against a provider the test drives by hand and the
/// fake registry: when a source is followed, the empty-list guard, outages, a provider that throws, reloads, and the
/// registry's outages leaving other sources' lists alone. Time is stepped by the test.
/// </summary>
public sealed class SourceSeamTests : IAsyncDisposable
{
    private readonly FakeRegistry _registry = new();
    private readonly SteppedTimeProvider _time = new();
    private readonly RosterClient _client;
    private readonly ScriptedProvider _provider = new();
    private readonly List<RosterDiscovery> _discoveries = [];

    public SourceSeamTests()
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
    public async Task A_source_is_followed_once_its_service_is_asked_for_and_its_lists_carry_its_origin_and_version()
    {
        var discovery = Discover();
        await Task.Delay(50);
        Assert.Empty(_provider.Feeds); // nothing is read before a service is asked for

        var first = discovery.GetEndpointsAsync("users").AsTask();
        var feed = await _provider.NextFeedAsync();
        Assert.Equal(("users", "test://users", "test"), (feed.Service, feed.Target, feed.Origin));
        feed.Publish([Endpoint("b"), Endpoint("a")], version: 7, confirmed: true);

        var list = await first;
        Assert.Equal(["a", "b"], Ids(list)); // in id order, as the registry's
        Assert.Equal(("test", EndpointSource.Live, 7L), (list.Origin, list.Source, list.Sequence));
        Assert.Empty(_registry.WatchQueries); // the registry is never asked for it
        Assert.Single(_provider.Feeds);
    }

    [Fact]
    public async Task An_unconfirmed_empty_list_is_believed_only_after_the_confirmation_period_a_confirmed_one_at_once()
    {
        var discovery = Discover(o => o.EmptyConfirmationPeriod = TimeSpan.FromSeconds(60));
        var feed = await FollowAsync(discovery, "a");

        feed.Publish([], version: 2, confirmed: false);
        feed.Publish([Endpoint("a")], version: 3, confirmed: true); // a list that comes back clears the pending empty
        feed.Publish([], version: 4, confirmed: false);
        _time.Advance(TimeSpan.FromSeconds(30));
        await Task.Delay(50);
        Assert.Equal(["a"], Ids(List(discovery)));
        await AdvanceUntilAsync(() => List(discovery).Endpoints.IsEmpty, "the empty list is believed", TimeSpan.FromSeconds(30));

        feed.Publish([Endpoint("b")], version: 5, confirmed: true);
        await Eventually.TrueAsync(() => Ids(List(discovery)).SequenceEqual(["b"]), "b is listed");
        feed.Publish([], version: 6, confirmed: true);
        await Eventually.TrueAsync(() => List(discovery).Endpoints.IsEmpty, "a confirmed empty list replaces at once");
    }

    [Fact]
    public async Task The_same_list_listed_again_restarts_the_confirmation_period_of_a_later_empty_one()
    {
        var discovery = Discover(o => o.EmptyConfirmationPeriod = TimeSpan.FromSeconds(60));
        var feed = await FollowAsync(discovery, "a");

        feed.Publish([], version: 2, confirmed: false);
        await Task.Delay(50);
        _time.Advance(TimeSpan.FromSeconds(40));
        feed.Publish([Endpoint("a")], version: 3, confirmed: true); // the list in force, read again: "empty" was wrong
        feed.Publish([], version: 4, confirmed: false); // a new period starts here, not 40 s ago
        await Task.Delay(50);
        _time.Advance(TimeSpan.FromSeconds(30));
        await Task.Delay(50);
        Assert.Equal(["a"], Ids(List(discovery)));
        await AdvanceUntilAsync(() => List(discovery).Endpoints.IsEmpty, "the empty list is believed", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task An_unreachable_source_keeps_its_list_marked_cached_until_it_lists_again()
    {
        var discovery = Discover();
        var feed = await FollowAsync(discovery, "a");

        var lostAt = _time.GetUtcNow();
        feed.Unreachable("connection refused");
        await Eventually.TrueAsync(() => List(discovery).Source == EndpointSource.Cached, "the list is cached");
        Assert.Equal(lostAt, List(discovery).UpdatedAt);
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TimeSpan.FromSeconds(20), List(discovery).AgeAt(_time.GetUtcNow()));
        Assert.Equal(["a"], Ids(List(discovery)));

        feed.Publish([Endpoint("a")], version: 1, confirmed: true);
        await Eventually.TrueAsync(() => List(discovery).Source == EndpointSource.Live, "the same list is current again");
    }

    [Fact]
    public async Task A_provider_that_throws_is_started_again_after_a_pause_and_its_list_is_kept_meanwhile()
    {
        var discovery = Discover();
        var feed = await FollowAsync(discovery, "a");

        _provider.Fail(feed, new InvalidOperationException("provider bug"));
        await Eventually.TrueAsync(() => List(discovery).Source == EndpointSource.Cached, "the list is kept, out of date");
        Assert.Equal(["a"], Ids(List(discovery)));

        await AdvanceUntilAsync(() => _provider.Feeds.Count == 2, "the provider runs again");
        var again = _provider.Feeds.Last();
        Assert.Same(feed, again); // the same feed: the service still follows the same source
        again.Publish([Endpoint("a"), Endpoint("b")], version: 2, confirmed: true);
        await Eventually.TrueAsync(() => Ids(List(discovery)).SequenceEqual(["a", "b"]) && List(discovery).Source == EndpointSource.Live, "its next list is used");
    }

    [Fact]
    public async Task A_reload_stops_the_old_source_ignores_what_it_still_reports_and_follows_the_new_one()
    {
        var discovery = Discover();
        var old = await FollowAsync(discovery, "a");

        discovery.ApplySources(Options(o => o.Sources["users"] = "test://users-v2"));
        var next = await _provider.NextFeedAsync();
        Assert.Equal("test://users-v2", next.Target);
        await Eventually.TrueAsync(() => _provider.Stopped(old), "the old source is stopped");
        Assert.Equal(["a"], Ids(List(discovery))); // the list in use stays until the new source gives one,
        Assert.Equal(EndpointSource.Cached, List(discovery).Source); // no longer followed: out of date from now

        old.Publish([Endpoint("stale")], version: 9, confirmed: true);
        next.Publish([Endpoint("v2")], version: 1, confirmed: true);
        await Eventually.TrueAsync(() => Ids(List(discovery)).SequenceEqual(["v2"]), "the new source's list is used");
        await Task.Delay(50);
        Assert.Equal(["v2"], Ids(List(discovery)));

        // To a static list, then back to the registry.
        discovery.ApplySources(Options(o => o.Sources["users"] = "static://10.0.0.9:80"));
        await Eventually.TrueAsync(() => List(discovery).Origin == "static" && _provider.Stopped(next), "the static list is in force, the source stopped");
        _registry.Upsert("users", "from-registry", 1);
        discovery.ApplySources(Options(o => o.Sources.Remove("users")));
        await Eventually.TrueAsync(() => List(discovery).Origin == ServiceEndpoints.RegistryOrigin && Ids(List(discovery)).SequenceEqual(["from-registry"]), "the registry's list is in force");
    }

    [Fact]
    public async Task A_registry_outage_leaves_the_lists_of_other_sources_alone()
    {
        _registry.Upsert("orders", "o1", 1);
        var discovery = Discover();
        await discovery.GetEndpointsAsync("orders");
        await FollowAsync(discovery, "a");

        _registry.EndStreams();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Cached, "the registry's list is cached");
        Assert.Equal(EndpointSource.Live, List(discovery).Source);

        await AdvanceUntilAsync(() => discovery.TryGetEndpoints("orders", out var e) && e.Source == EndpointSource.Live, "the registry is back");
        Assert.Equal(("test", EndpointSource.Live), (List(discovery).Origin, List(discovery).Source));
    }

    [Fact]
    public async Task Disposing_discovery_stops_its_sources_and_waits_for_them()
    {
        var discovery = Discover();
        var feed = await FollowAsync(discovery, "a");

        await discovery.DisposeAsync();
        Assert.True(_provider.Stopped(feed), "the provider had returned before DisposeAsync did");
        feed.Publish([Endpoint("late")], version: 2, confirmed: true); // after disposal: nobody to take it, nothing thrown
    }

    private async Task<EndpointSourceFeed> FollowAsync(RosterDiscovery discovery, params string[] ids)
    {
        var first = discovery.GetEndpointsAsync("users").AsTask();
        var feed = await _provider.NextFeedAsync();
        feed.Publish(ids.Select(Endpoint), version: 1, confirmed: true);
        await first;
        return feed;
    }

    private RosterDiscoveryOptions Options(Action<RosterDiscoveryOptions> configure)
    {
        var options = new RosterDiscoveryOptions { Namespace = FakeRegistry.Namespace };
        options.SourceProviders.Add(_provider);
        options.Sources["users"] = "test://users";
        configure(options);
        options.Validate();
        return options;
    }

    private RosterDiscovery Discover(Action<RosterDiscoveryOptions>? configure = null)
    {
        var discovery = new RosterDiscovery(_client, Options(configure ?? (_ => { })), _time);
        _discoveries.Add(discovery);
        return discovery;
    }

    private static ServiceEndpoints List(RosterDiscovery discovery) =>
        discovery.TryGetEndpoints("users", out var list) ? list : throw new InvalidOperationException("users is not listed");

    private static InstanceEndpoint Endpoint(string id) => new(id, "10.0.0.1", 80);

    private static string[] Ids(ServiceEndpoints endpoints) => [.. endpoints.Endpoints.Select(e => e.Id)];

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

    /// <summary>A provider of <c>test://</c> targets that reports only what the test tells its feeds to, and fails when told to.</summary>
    private sealed class ScriptedProvider : IEndpointSourceProvider
    {
        private readonly ConcurrentDictionary<EndpointSourceFeed, TaskCompletionSource> _running = new();
        private readonly ConcurrentDictionary<EndpointSourceFeed, bool> _stopped = new();
        private readonly System.Threading.Channels.Channel<EndpointSourceFeed> _started = System.Threading.Channels.Channel.CreateUnbounded<EndpointSourceFeed>();

        public ConcurrentQueue<EndpointSourceFeed> Feeds { get; } = new();

        public string Scheme => "test";

        public string? Check(string target) => target.Contains("bad", StringComparison.Ordinal) ? "a bad test target" : null;

        public async Task FollowAsync(string target, EndpointSourceFeed feed, CancellationToken cancellationToken)
        {
            var run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _running[feed] = run;
            Feeds.Enqueue(feed);
            _started.Writer.TryWrite(feed);
            try
            {
                await run.Task.WaitAsync(cancellationToken);
            }
            finally
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    _stopped[feed] = true;
                }
            }
        }

        public async Task<EndpointSourceFeed> NextFeedAsync()
        {
            return await _started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }

        public void Fail(EndpointSourceFeed feed, Exception error) => _running[feed].SetException(error);

        public bool Stopped(EndpointSourceFeed feed) => _stopped.ContainsKey(feed);
    }
}
