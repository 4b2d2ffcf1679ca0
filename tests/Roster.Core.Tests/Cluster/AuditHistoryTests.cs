using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Cluster;

/// <summary>
/// Who changed what travels in the log with each change, so three nodes on one stream tell the same story: a
/// registration, a drain and a deregistration made at different nodes by different principals, and an expiry, each
/// with the node that accepted it, its time and its author, identically on every node.
/// </summary>
public sealed class AuditHistoryTests
{
    [Fact]
    public async Task EveryNode_HoldsTheSameAuthors_NodesAndTimes_ForTheSameChanges()
    {
        var time = new ManualTimeProvider();
        time.Advance(TimeSpan.FromMilliseconds(4_321));
        var broker = new InProcessBroker();
        var options = new RegistryNodeOptions { KeepAliveInterval = TimeSpan.FromDays(1), ExpiryScanInterval = TimeSpan.FromDays(1) };
        RegistryNode[] nodes = [
            await ClusterNodes.StartAsync(broker, "0a", options, time),
            await ClusterNodes.StartAsync(broker, "0b", options, time),
            await ClusterNodes.StartAsync(broker, "0c", options, time)];
        try
        {
            var kept = new InstanceKey("prod", "orders", "kept");
            var leased = new InstanceKey("prod", "orders", "leased");
            var alice = new WriteAuthor("alice", "10.1.0.1");
            var bob = new WriteAuthor("bob", "10.1.0.2");
            var carol = new WriteAuthor("carol", "10.1.0.3");

            await nodes[0].SubmitAsync(new RegisterChange(kept, Registrations.Persistent(), 0), alice, CancellationToken.None);
            await nodes[0].SubmitAsync(new RegisterChange(leased, Registrations.Ephemeral(ttlSeconds: 5), 0), alice, CancellationToken.None);
            await CatchUpAsync(nodes);
            time.Advance(TimeSpan.FromSeconds(1));
            await nodes[1].SubmitAsync(new OperatorChange(kept, new OperatorPatch(Drained: true, Disabled: null, WeightOverride: null, ClearWeightOverride: false)), bob, CancellationToken.None);
            await CatchUpAsync(nodes);
            time.Advance(TimeSpan.FromSeconds(1));
            await nodes[2].SubmitAsync(new DeregisterChange(kept, 0), carol, CancellationToken.None);

            // The leased instance's owner (the node that registered it) expires it once its TTL is long past.
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(1, await nodes[0].ExpireDueLeasesAsync(CancellationToken.None));
            await CatchUpAsync(nodes);

            var stories = nodes.Select(n => n.Watches.ReadHistory(0, "prod", null, 100).Changes
                .Select(c => (c.Revision, c.Instance.Id, c.Source!.Cause, c.Source.Node, c.Source.Author, c.AcceptedAt)).ToList()).ToList();
            var start = time.GetUtcNow().AddSeconds(-12).ToUnixTimeMilliseconds();
            Assert.Equal(
                [
                    ("kept", ChangeCause.Register, nodes[0].NodeId, alice, start),
                    ("leased", ChangeCause.Register, nodes[0].NodeId, alice, start),
                    ("kept", ChangeCause.Operator, nodes[1].NodeId, bob, start + 1000),
                    ("kept", ChangeCause.Deregister, nodes[2].NodeId, carol, start + 2000),
                    ("leased", ChangeCause.Expire, nodes[0].NodeId, (WriteAuthor?)null, start + 12_000),
                ],
                stories[0].Select(s => (s.Id, s.Cause, s.Node, s.Author, s.AcceptedAt)).ToList());
            Assert.All(stories, story => Assert.Equal(stories[0], story));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task CatchUpAsync(RegistryNode[] nodes)
    {
        var last = await nodes[0].Log.GetLastPositionAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => nodes.All(n => n.State.Revision >= last), "every node applies the stream");
    }
}
