using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Log.Stream;
using Roster.Core.Node;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Cluster;

/// <summary>
/// The loops a cluster's storage runs beside the node (the bus publisher, barriers, membership) are the node's loops
/// too: listed with its own, and one that stops on an error makes the node unhealthy and unready, never silently gone.
/// </summary>
public sealed class StorageLoopTests
{
    [Fact]
    public async Task A_storage_loop_that_faults_makes_the_node_unhealthy_and_is_listed_with_its_loops()
    {
        var broker = new InProcessBroker();
        var publisher = new LoopHealth("bus-publisher");
        var stopPublisher = new TaskCompletionSource();
        Exception? reported = null;
        var publisherLoop = publisher.RunAsync(() => stopPublisher.Task, ex => reported = ex);
        var nodeId = ClusterNodes.IdOf("0a");
        var storage = NodeStorage.ForCluster(
            new StreamChangeLog(broker, nodeId), new RegistryIdentity(ClusterNodes.RegistryId, nodeId), loops: [publisher]);
        await using var node = await RegistryNode.StartAsync(storage, new RegistryNodeOptions(), TimeProvider.System, NullLogger.Instance, CancellationToken.None);
        await node.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(node.Fault);
        Assert.True(node.IsReady);
        Assert.Contains(node.Loops, l => l.Name == "bus-publisher" && l.State == LoopState.Running);

        stopPublisher.SetException(new InvalidOperationException("the channel was disposed twice"));
        await publisherLoop;

        Assert.Equal("the bus-publisher loop stopped: InvalidOperationException: the channel was disposed twice", node.Fault);
        Assert.False(node.IsReady);
        Assert.Equal(LoopState.Faulted, node.Loops.Single(l => l.Name == "bus-publisher").State);
        Assert.IsType<InvalidOperationException>(reported);
    }

    [Fact]
    public async Task A_storage_loop_that_ends_normally_is_stopped_not_faulted()
    {
        var membership = new LoopHealth("bus-membership");
        await membership.RunAsync(() => Task.CompletedTask, _ => Assert.Fail("not a fault"));

        Assert.Equal(LoopState.Stopped, membership.State);
        Assert.Null(membership.Error);
    }
}
