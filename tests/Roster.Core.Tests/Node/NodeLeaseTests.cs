using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Leases;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Node;

/// <summary>Lease behaviour, with time driven by hand: no test here sleeps for a lease to run out.</summary>
public sealed class NodeLeaseTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "roster-node-" + Guid.NewGuid().ToString("N"));
    private RegistryNode _node = null!;

    private static RegistryNodeOptions Options => new()
    {
        // The loop's timer is real; a day keeps it quiet so each test runs expiry passes itself.
        ExpiryScanInterval = TimeSpan.FromDays(1),
        KeepAliveInterval = TimeSpan.FromDays(1),
    };

    public async Task InitializeAsync() => _node = await StartAsync();

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<RegistryNode> StartAsync()
    {
        var node = await RegistryNode.StartAsync(
            await NodeStorage.OpenDirectoryAsync(_directory, CancellationToken.None), Options, _time, NullLogger.Instance, CancellationToken.None);
        await node.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
        return node;
    }

    private async Task<InstanceRecord> RegisterAsync(string ns, int i, int ttl = 10)
    {
        var outcome = await _node.SubmitAsync(
            new RegisterChange(new InstanceKey(ns, "orders", $"i{i}"), Registrations.Ephemeral(port: 1000 + i, ttlSeconds: ttl), 0),
            CancellationToken.None);
        return outcome.Instance!;
    }

    private int Count(string ns) => _node.State.FindService(ns, "orders")?.Instances.Count ?? 0;

    [Fact]
    public async Task Instance_NotRenewed_ExpiresAfterItsTtl_AndNotBefore()
    {
        await RegisterAsync("prod", 1, ttl: 10);

        _time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(0, await _node.ExpireDueLeasesAsync(CancellationToken.None));

        _time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(1, await _node.ExpireDueLeasesAsync(CancellationToken.None));
        await Eventually.TrueAsync(() => Count("prod") == 0, "the expiry is applied");
        Assert.Equal(1, _node.Metrics.ExpiredTotal);
    }

    [Fact]
    public async Task BatchRenewal_Keeps1000InstancesAlive_WhileTheUnrenewedExpire()
    {
        var instances = new List<InstanceRecord>();
        for (var i = 0; i < 1000; i++)
        {
            instances.Add(await RegisterAsync("prod", i));
        }

        for (var round = 0; round < 6; round++)
        {
            _time.Advance(TimeSpan.FromSeconds(4));

            // Renew all but the last 8, which stop as if their process died.
            for (var i = 0; i < 992; i++)
            {
                Assert.Equal(RenewStatus.Ok, _node.Renew(new InstanceKey("prod", "orders", instances[i].Id), instances[i].Incarnation));
            }

            await _node.ExpireDueLeasesAsync(CancellationToken.None);
        }

        await Eventually.TrueAsync(() => Count("prod") == 992, "the 8 unrenewed instances expire");
        Assert.Equal(8, _node.Metrics.ExpiredTotal);
    }

    [Fact]
    public async Task SelfPreservation_PausesMassExpiry_KeepsDeregistrations_AndResumesWhenRenewalsReturn()
    {
        var instances = new List<InstanceRecord>();
        for (var i = 0; i < 100; i++)
        {
            instances.Add(await RegisterAsync("prod", i));
        }

        await RegisterAsync("other", 1);

        // A network blip: nobody renews for two TTLs.
        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(1, await _node.ExpireDueLeasesAsync(CancellationToken.None));
        Assert.Equal(1, _node.Metrics.SelfPreservingNamespaces);

        // A second pass at the same instant (a timer tick that came due during the first) examines no lease it has
        // not just looked at: the pause holds, rather than ending and starting again on the next pass.
        Assert.Equal(0, await _node.ExpireDueLeasesAsync(CancellationToken.None));
        Assert.Contains("prod", _node.Metrics.SelfPreservingNamespaceNames);
        await Eventually.TrueAsync(() => Count("other") == 0, "the other namespace still expires its single instance");
        Assert.Equal(100, Count("prod"));

        // Explicit deregistration still applies while expiry is paused.
        var removed = await _node.SubmitAsync(new DeregisterChange(new InstanceKey("prod", "orders", instances[0].Id), 0), CancellationToken.None);
        Assert.Equal(OutcomeStatus.Deleted, removed.Status);

        // Renewals return: self-preservation ends, and a few that stay silent expire normally.
        for (var i = 1; i < 95; i++)
        {
            Assert.Equal(RenewStatus.Ok, _node.Renew(new InstanceKey("prod", "orders", instances[i].Id), instances[i].Incarnation));
        }

        // The next pass, one scan interval later, sees the renewals.
        _time.Advance(TimeSpan.FromSeconds(0.3));
        Assert.Equal(5, await _node.ExpireDueLeasesAsync(CancellationToken.None));
        Assert.Equal(0, _node.Metrics.SelfPreservingNamespaces);
        await Eventually.TrueAsync(() => Count("prod") == 94, "the 5 silent instances expire once the pause ends");
    }

    [Fact]
    public async Task Renew_OldIncarnation_IsStale_AndUnknownInstance_IsUnknown()
    {
        var first = await RegisterAsync("prod", 1);
        var second = (await _node.SubmitAsync(
            new RegisterChange(new InstanceKey("prod", "orders", "i1"), Registrations.Ephemeral(port: 4242), 0), CancellationToken.None)).Instance!;

        Assert.NotEqual(first.Incarnation, second.Incarnation);
        Assert.Equal(RenewStatus.StaleIncarnation, _node.Renew(new InstanceKey("prod", "orders", "i1"), first.Incarnation));
        Assert.Equal(RenewStatus.Ok, _node.Renew(new InstanceKey("prod", "orders", "i1"), second.Incarnation));
        Assert.Equal(RenewStatus.Unknown, _node.Renew(new InstanceKey("prod", "orders", "nobody"), 1));
        var update = await _node.SubmitAsync(
            new RegisterChange(new InstanceKey("prod", "orders", "i1"), Registrations.Ephemeral(version: "late"), first.Incarnation), CancellationToken.None);
        Assert.Equal(OutcomeStatus.StaleIncarnation, update.Status);
    }

    [Fact]
    public async Task Restart_RestoresEverything_ContinuesRevisions_AndGivesLeasesOneTtlOfGrace()
    {
        for (var i = 0; i < 5; i++)
        {
            await RegisterAsync("prod", i, ttl: 10);
        }

        await _node.SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", "keep"), Registrations.Persistent(), 0), CancellationToken.None);
        var revisionBefore = _node.State.Revision;
        await _node.DisposeAsync();

        // Down for far longer than the TTL.
        _time.Advance(TimeSpan.FromMinutes(5));
        _node = await StartAsync();

        Assert.Equal(6, Count("prod"));
        Assert.Equal(revisionBefore, _node.State.Revision);
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(0, await _node.ExpireDueLeasesAsync(CancellationToken.None));

        var next = await RegisterAsync("prod", 99);
        Assert.True(next.Incarnation > revisionBefore);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(5, await _node.ExpireDueLeasesAsync(CancellationToken.None));
        await Eventually.TrueAsync(() => Count("prod") == 2, "unrenewed leases expire after the grace; persistent stays");
    }
}

public sealed class NodeStorageTests
{
    [Fact]
    public async Task SecondOpenOfTheSameDataDirectory_IsRefused_AndTheIdentityIsKept()
    {
        var directory = Path.Combine(Path.GetTempPath(), "roster-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            string registryId;
            await using (var first = await NodeStorage.OpenDirectoryAsync(directory, CancellationToken.None))
            {
                registryId = first.Identity.RegistryId;
                var error = await Assert.ThrowsAsync<IOException>(() => NodeStorage.OpenDirectoryAsync(directory, CancellationToken.None));
                Assert.Contains("in use by another Roster process", error.Message, StringComparison.Ordinal);
            }

            await using var again = await NodeStorage.OpenDirectoryAsync(directory, CancellationToken.None);
            Assert.Equal(registryId, again.Identity.RegistryId);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
