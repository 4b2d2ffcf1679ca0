using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Cluster;

/// <summary>
/// A node that goes silent (not heard from for one TTL) has its leases adopted by one deterministic
/// successor: the instances of providers that died with it then expire one TTL later, and no instance is
/// left that no node would ever expire.
/// </summary>
public sealed class SilentNodeTests : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly ManualTimeProvider _time = new();
    private readonly InProcessBroker _broker = new();
    private InProcessMembership _membership = null!;
    private readonly List<RegistryNode> _nodes = [];

    public async Task InitializeAsync()
    {
        _time.Advance(TimeSpan.FromMilliseconds(5_317)); // off any round value
        _membership = new InProcessMembership(_time);
        foreach (var id in new[] { "0a", "0b", "0c" })
        {
            var options = new RegistryNodeOptions { DefaultTtl = Ttl, KeepAliveInterval = TimeSpan.FromDays(1), ExpiryScanInterval = TimeSpan.FromDays(1) };
            _nodes.Add(await ClusterNodes.StartAsync(_broker, id, options, _time, _membership));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task ASilentOwnersLeases_AreAdoptedByItsSuccessor_AndExpireWhenNobodyRenewsThem()
    {
        var (silent, successor, other) = (_nodes[0], _nodes[1], _nodes[2]);
        var keys = Enumerable.Range(0, 3).Select(i => new InstanceKey("prod", "orders", $"i{i}")).ToList();
        foreach (var key in keys)
        {
            await silent.SubmitAsync(new RegisterChange(key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => _nodes.All(n => n.State.InstanceCount == 3), "every node applies the registrations");
        foreach (var node in _nodes)
        {
            Assert.Equal(0, await node.AdoptSilentOwnersAsync(CancellationToken.None)); // announce; the first scan waits a TTL
        }

        // Half a TTL later everyone is alive: nothing to adopt.
        _time.Advance(Ttl / 2);
        foreach (var node in _nodes)
        {
            Assert.Equal(0, await node.AdoptSilentOwnersAsync(CancellationToken.None));
        }

        // The first node goes silent (it stops announcing; its providers die with it); the others keep
        // announcing, as their expiry loops do every scan.
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        _membership.Announce(successor.NodeId);
        _membership.Announce(other.NodeId);
        Assert.Equal(0, await other.AdoptSilentOwnersAsync(CancellationToken.None));
        Assert.Equal(3, await successor.AdoptSilentOwnersAsync(CancellationToken.None));
        await Eventually.TrueAsync(
            () => _nodes.All(n => keys.All(k => n.State.FindInstance(k)?.Owner == successor.NodeId)) && successor.Leases.Count == 3,
            "every node moves the leases to the successor");

        // Nobody renews them: the successor expires them one TTL after it took them over.
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        Assert.Equal(0, await other.ExpireDueLeasesAsync(CancellationToken.None));
        Assert.Equal(3, await successor.ExpireDueLeasesAsync(CancellationToken.None));
        await Eventually.TrueAsync(() => _nodes.All(n => n.State.InstanceCount == 0), "every node removes them");
    }

    [Theory]
    [InlineData("b", new[] { "a", "c", "d" }, "c")]
    [InlineData("d", new[] { "a", "c" }, "a")]
    [InlineData("a", new string[0], null)]
    public void TheSuccessor_IsTheNextLiveIdAfterTheSilentOne_WrappingAround(string silent, string[] live, string? expected) =>
        Assert.Equal(expected, RegistryNode.SuccessorOf(silent, live));
}
