using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Log.Stream;
using Roster.Core.Node;

namespace Roster.Core.Tests.Support;

/// <summary>Nodes of one registry sharing an <see cref="InProcessBroker"/>, as the cluster tests start them.</summary>
internal static class ClusterNodes
{
    public const string RegistryId = "c0ffee00c0ffee00c0ffee00c0ffee00";

    /// <summary>A node id from a short name: "0b" is 00…0b.</summary>
    public static string IdOf(string name) => name.PadLeft(32, '0');

    /// <summary>Starts node <paramref name="name"/> on <paramref name="broker"/> and waits until it is ready.</summary>
    public static async Task<RegistryNode> StartAsync(
        InProcessBroker broker,
        string name,
        RegistryNodeOptions options,
        TimeProvider time,
        IClusterMembership? membership = null,
        int dedupWindow = StreamChangeLog.DefaultDedupWindow)
    {
        var nodeId = IdOf(name);
        var storage = NodeStorage.ForCluster(new StreamChangeLog(broker, nodeId, dedupWindow), new RegistryIdentity(RegistryId, nodeId), membership);
        var node = await RegistryNode.StartAsync(storage, options, time, NullLogger.Instance, CancellationToken.None);
        await node.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
        return node;
    }
}
