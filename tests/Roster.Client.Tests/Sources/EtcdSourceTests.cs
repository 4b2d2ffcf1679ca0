using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Roster.Client.Tests.Sources;

/// <summary>
/// etcd:// sources against a real etcd (Debian's etcd-server) on 127.0.0.1: providers are real Kestrel servers that the
/// test registers the way go-zero does (a lease per instance, <c>{key}/{lease id}</c> = <c>host:port</c>, written through
/// etcd's own JSON gateway), and the consumer calls them by name through the SDK's handler. No Roster registry is
/// reachable: the consumer's registry address answers nothing, and is never needed.
/// </summary>
public sealed class EtcdSourceTests : IAsyncLifetime
{
    private const string Key = "user.rpc";
    private readonly List<WebApplication> _providers = [];
    private EtcdProcess _etcd = null!;
    private ServiceProvider? _consumer;

    public async Task InitializeAsync() => _etcd = await EtcdProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _etcd.DisposeAsync();
    }

    [Fact]
    public async Task Instances_registered_as_go_zero_does_are_called_by_name_and_follow_their_leases()
    {
        var a = await StartProviderAsync("a");
        var leaseA = await RegisterAsync(a);
        await _etcd.PutAsync($"{Key}/not-an-address", "nonsense"); // left out, with a warning
        var http = Consumer($"etcd://{_etcd.Member}/{Key}");

        Assert.Equal("a", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        Assert.True(discovery.TryGetEndpoints("user-rpc", out var list));
        Assert.Equal(("etcd", EndpointSource.Live), (list.Origin, list.Source));
        Assert.Equal([Authority(a)], list.Endpoints.Select(e => e.Id));
        Assert.Contains(Logs(), l => l.Id.Id == 3102 && l.Message.Contains("not-an-address", StringComparison.Ordinal));

        // A second instance is seen within a second of its registration.
        var b = await StartProviderAsync("b");
        var clock = Stopwatch.StartNew();
        var leaseB = await RegisterAsync(b);
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "the second instance is listed", TimeSpan.FromSeconds(1));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"seen after {clock.Elapsed}");
        await Eventually.TrueAsync(async () => await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)) == "b", "b is called");

        // A revoked lease (go-zero's publisher stopping) takes its instance out; nothing is sent to it any more.
        await _etcd.RevokeLeaseAsync(leaseA);
        await Eventually.TrueAsync(() => Ids(discovery).SequenceEqual([Authority(b)]), "a is gone");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("b", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        }

        // The last instance leaving empties the list: etcd said so in a change, which is a confirmation.
        await _etcd.RevokeLeaseAsync(leaseB);
        await Eventually.TrueAsync(() => Ids(discovery).Count == 0, "the list is empty");
    }

    [Fact]
    public async Task A_watch_cut_off_past_a_compaction_reads_every_key_again_and_misses_nothing()
    {
        var a = await StartProviderAsync("a");
        var b = await StartProviderAsync("b");
        var c = await StartProviderAsync("c");
        await RegisterAsync(a);
        var leaseB = await RegisterAsync(b);
        await using var gate = new TcpGate(_etcd.ClientPort);
        gate.Open();
        Consumer($"etcd://127.0.0.1:{gate.Port}/{Key}");
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("user-rpc");
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "a and b are listed");

        // Cut off, the consumer keeps its list; meanwhile b leaves, c arrives and etcd compacts past the consumer's revision.
        await gate.CloseAsync();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Cached, "the list is marked out of date");
        await _etcd.RevokeLeaseAsync(leaseB);
        await RegisterAsync(c);
        await _etcd.CompactAsync(await _etcd.RevisionAsync());
        Assert.Equal(new[] { Authority(a), Authority(b) }.Order(), Ids(discovery).Order());

        gate.Open();
        await Eventually.TrueAsync(
            () => Ids(discovery).Order().SequenceEqual(new[] { Authority(a), Authority(c) }.Order()) && discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Live,
            "the consumer has read a and c again", TimeSpan.FromSeconds(15));
        Assert.Contains(Logs(), l => l.Id.Id == 3101); // it resumed from its revision, was told it was compacted, and read again
    }

    [Fact]
    public async Task Calls_go_on_while_etcd_is_down_and_the_list_converges_when_it_returns()
    {
        var a = await StartProviderAsync("a");
        var b = await StartProviderAsync("b");
        await RegisterAsync(a, ttlSeconds: 60);
        var http = Consumer($"etcd://{_etcd.Member}/{Key}");
        Assert.Equal("a", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();

        await _etcd.KillAsync();
        await Eventually.TrueAsync(() => discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Cached, "the list is marked out of date");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("a", await http.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
        }

        Assert.True(discovery.TryGetEndpoints("user-rpc", out var kept));
        Assert.True(kept.AgeAt(DateTimeOffset.UtcNow.AddSeconds(5)) >= TimeSpan.FromSeconds(5));
        Assert.Contains(Logs(), l => l.Id.Id == 3012);

        await _etcd.StartAgainAsync();
        await RegisterAsync(b);
        await Eventually.TrueAsync(
            () => Ids(discovery).Count == 2 && discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Live,
            "the list is current again, with b", TimeSpan.FromSeconds(15));
        Assert.Contains(Logs(), l => l.Id.Id == 3013);
    }

    [Fact]
    public async Task A_consumer_started_while_etcd_is_down_calls_the_instances_its_cache_directory_saved()
    {
        var a = await StartProviderAsync("a");
        await RegisterAsync(a, ttlSeconds: 60);
        var cache = Directory.CreateTempSubdirectory("roster-etcd-cache-").FullName;
        try
        {
            var first = Consumer($"etcd://{_etcd.Member}/{Key}", cache);
            Assert.Equal("a", await first.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
            await _consumer!.DisposeAsync(); // writes what it has not saved yet
            _consumer = null;
            await _etcd.KillAsync();

            var second = Consumer($"etcd://{_etcd.Member}/{Key}", cache);
            Assert.Equal("a", await second.GetStringAsync(new Uri("/whoami", UriKind.Relative)));
            Assert.True(_consumer!.GetRequiredService<RosterDiscovery>().TryGetEndpoints("user-rpc", out var list));
            Assert.Equal(("etcd", EndpointSource.Disk), (list.Origin, list.Source));

            // Under another source the saved list is not this service's: a registry-discovered service ignores it.
            await _consumer!.DisposeAsync();
            _consumer = null;
            _ = Consumer("", cache);
            await Assert.ThrowsAsync<RosterUnavailableException>(async () =>
                await _consumer!.GetRequiredService<RosterDiscovery>().GetEndpointsAsync("user-rpc"));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task With_authentication_on_the_consumer_reads_as_its_etcd_user_and_a_wrong_password_reads_nothing()
    {
        var a = await StartProviderAsync("a");
        await RegisterAsync(a);
        await _etcd.EnableAuthenticationAsync("consumer", "consumer-password", $"{Key}/");

        Consumer($"etcd://{_etcd.Member}/{Key}", etcd: new Roster.Client.Etcd.EtcdSourceProvider { Username = "consumer", Password = "consumer-password" });
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        Assert.Equal([Authority(a)], (await discovery.GetEndpointsAsync("user-rpc")).Endpoints.Select(e => e.Id));
        var b = await StartProviderAsync("b");
        await RegisterAsync(b); // the watch, opened with the user's token, sees it
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "b is seen");

        await _consumer!.DisposeAsync();
        _consumer = null;
        Consumer($"etcd://{_etcd.Member}/{Key}", etcd: new Roster.Client.Etcd.EtcdSourceProvider { Username = "consumer", Password = "wrong" });
        await Assert.ThrowsAsync<RosterUnavailableException>(async () => await _consumer!.GetRequiredService<RosterDiscovery>().GetEndpointsAsync("user-rpc"));
        Assert.Contains(Logs(), l => l.Id.Id == 3012 && l.Message.Contains("authentication failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Over_tls_the_consumer_trusts_the_members_ca_and_shows_its_certificate()
    {
        await using var secure = await EtcdProcess.StartAsync(tls: true);
        var a = await StartProviderAsync("a");
        await RegisterAsync(secure, a, ttlSeconds: 60);

        Consumer($"etcd://{secure.Member}/{Key}", etcd: new Roster.Client.Etcd.EtcdSourceProvider
        {
            TrustedCertificates = [secure.Ca!],
            ClientCertificate = secure.ClientCertificate,
        });
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        Assert.Equal([Authority(a)], (await discovery.GetEndpointsAsync("user-rpc")).Endpoints.Select(e => e.Id));
        var b = await StartProviderAsync("b");
        await RegisterAsync(secure, b, ttlSeconds: 60);
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "b is seen over TLS");

        // Without a certificate of its CA the member refuses the consumer: nothing is read, and the reason is reported.
        await _consumer!.DisposeAsync();
        _consumer = null;
        Consumer($"etcd://{secure.Member}/{Key}", etcd: new Roster.Client.Etcd.EtcdSourceProvider { TrustedCertificates = [secure.Ca!] });
        await Assert.ThrowsAsync<RosterUnavailableException>(async () => await _consumer!.GetRequiredService<RosterDiscovery>().GetEndpointsAsync("user-rpc"));
        Assert.Contains(Logs(), l => l.Id.Id == 3012);
    }

    [Fact]
    public async Task A_member_that_cannot_be_reached_is_passed_over_for_the_next()
    {
        var a = await StartProviderAsync("a");
        var b = await StartProviderAsync("b");
        await RegisterAsync(a);
        await using var gate = new TcpGate(_etcd.ClientPort);
        gate.Open();
        var dead = Processes.AppProcess.FreePort();

        // The first member never answers, the second is cut off later, the third stays.
        Consumer($"etcd://127.0.0.1:{dead},127.0.0.1:{gate.Port},{_etcd.Member}/{Key}");
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("user-rpc");
        Assert.Equal([Authority(a)], Ids(discovery));

        await gate.CloseAsync();
        await RegisterAsync(b);
        await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "b is seen through the third member", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task In_a_three_member_cluster_the_consumer_follows_through_the_loss_of_its_member_and_of_the_majority()
    {
        var members = await EtcdProcess.StartClusterAsync(3);
        try
        {
            var (a, b, c) = (await StartProviderAsync("a"), await StartProviderAsync("b"), await StartProviderAsync("c"));
            await RegisterAsync(members[2], a, ttlSeconds: 120);
            Consumer($"etcd://{string.Join(',', members.Select(m => m.Member))}/{Key}");
            var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
            await discovery.GetEndpointsAsync("user-rpc");
            Assert.Equal([Authority(a)], Ids(discovery));

            // The member it reads from (the first listed) dies: the next one serves its watch.
            await members[0].KillAsync();
            await RegisterOnceWritableAsync(members[2], b);
            await Eventually.TrueAsync(() => Ids(discovery).Count == 2, "b is seen through another member", TimeSpan.FromSeconds(15));

            // A second member dies: the last one has no majority, so it answers nothing; the list is kept, out of date.
            await members[1].KillAsync();
            await Eventually.TrueAsync(() => discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Cached, "the list is marked out of date", TimeSpan.FromSeconds(30));
            Assert.Equal(2, Ids(discovery).Count);

            // The majority is back: the list is current again and follows new registrations.
            await members[0].StartAgainAsync();
            await RegisterOnceWritableAsync(members[2], c);
            await Eventually.TrueAsync(
                () => Ids(discovery).Count == 3 && discovery.TryGetEndpoints("user-rpc", out var l) && l.Source == EndpointSource.Live,
                "c is seen and the list is current", TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Restarting_three_providers_one_by_one_under_load_fails_no_request()
    {
        var leases = new long[3];
        var providers = new WebApplication[3];
        for (var i = 0; i < 3; i++)
        {
            providers[i] = await StartProviderAsync($"p{i}");
            leases[i] = await RegisterAsync(providers[i]);
        }

        var http = Consumer($"etcd://{_etcd.Member}/{Key}");
        var discovery = _consumer!.GetRequiredService<RosterDiscovery>();
        await discovery.GetEndpointsAsync("user-rpc");
        await Eventually.TrueAsync(() => Ids(discovery).Count == 3, "three providers are listed");

        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || Volatile.Read(ref sent) < 1000)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri("/whoami", UriKind.Relative));
                    if (!response.IsSuccessStatusCode)
                    {
                        failures.Enqueue(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue(e.Message);
                }

                Interlocked.Increment(ref sent);
            }
        });

        // Each provider in turn leaves as go-zero's does (its lease revoked, then its server stopped) and comes back on a
        // new port with a new lease.
        for (var i = 0; i < 3; i++)
        {
            await Eventually.TrueAsync(() => Volatile.Read(ref sent) >= (i + 1) * 250, "requests flow");
            await _etcd.RevokeLeaseAsync(leases[i]);
            await providers[i].StopAsync();
            providers[i] = await StartProviderAsync($"p{i}");
            leases[i] = await RegisterAsync(providers[i]);
            await Eventually.TrueAsync(() => Ids(discovery).Contains(Authority(providers[i])), "the restarted provider is listed");
        }

        await stop.CancelAsync();
        await load;
        Assert.True(sent >= 1000, $"{sent} requests");
        Assert.Empty(failures);
    }

    private async Task<WebApplication> StartProviderAsync(string id)
    {
        var app = await TestProviders.StartUnregisteredAsync(id);
        _providers.Add(app);
        return app;
    }

    /// <summary>What go-zero's publisher does: a lease, and the instance's address under <c>{key}/{lease id}</c> attached to it.</summary>
    private Task<long> RegisterAsync(WebApplication provider, int ttlSeconds = 30) => RegisterAsync(_etcd, provider, ttlSeconds);

    /// <summary>Registers as soon as the cluster takes writes again (it may be electing a leader), as go-zero's publisher retries.</summary>
    private static async Task RegisterOnceWritableAsync(EtcdProcess etcd, WebApplication provider)
    {
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await RegisterAsync(etcd, provider, ttlSeconds: 120);
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }, "the cluster takes the registration", TimeSpan.FromSeconds(30));
    }

    private static async Task<long> RegisterAsync(EtcdProcess etcd, WebApplication provider, int ttlSeconds)
    {
        var lease = await etcd.GrantLeaseAsync(ttlSeconds);
        await etcd.PutAsync($"{Key}/{lease}", Authority(provider), lease);
        return lease;
    }

    private HttpClient Consumer(string target, string? cacheDirectory = null, Roster.Client.Etcd.EtcdSourceProvider? etcd = null)
    {
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddRoster(o => o.Servers.Add(new Uri($"http://127.0.0.1:{Processes.AppProcess.FreePort()}")))
            .AddDiscovery(o =>
            {
                o.Namespace = "prod";
                o.Sources["user-rpc"] = target;
                o.CacheDirectory = cacheDirectory;
                o.DiskFallbackDelay = TimeSpan.FromMilliseconds(200);
                o.ResolveTimeout = TimeSpan.FromSeconds(3);
            })
            .AddEtcdSources(etcd);
        services.AddHttpClient("user-rpc", c => c.BaseAddress = new Uri("http://user-rpc")).AddRosterDiscovery();
        _consumer = services.BuildServiceProvider();
        return _consumer.GetRequiredService<IHttpClientFactory>().CreateClient("user-rpc");
    }

    private IReadOnlyList<FakeLogRecord> Logs() => _consumer!.GetFakeLogCollector().GetSnapshot();

    private static List<string> Ids(RosterDiscovery discovery) =>
        discovery.TryGetEndpoints("user-rpc", out var list) ? [.. list.Endpoints.Select(e => e.Id)] : [];

    private static string Authority(WebApplication app) => TestProviders.AddressOf(app).Authority;
}
