using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;
using Roster.Core.Watch;
using Xunit.Abstractions;

namespace Roster.Core.Tests.Cluster;

/// <summary>
/// Several nodes on one shared stream (<see cref="InProcessBroker"/>), the way a cluster's nodes share a
/// RabbitMQ stream: every node ends with the same registry and the same watch history, a batch stored twice
/// is applied once everywhere, and a writer whose append lost its confirm or its message gets the right
/// answer or a timeout, never a wrong one.
/// </summary>
public sealed class InProcessClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ConcurrentWritersOnEveryNode_Converge_AndEveryNodeWatchesTheSameHistory()
    {
        var stream = new InProcessBroker();
        var nodes = await StartAsync(stream, 3);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watches = nodes.Select(n => Collect(n.Watches.Subscribe("prod", null, since: 0), stop.Token)).ToList();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var node = nodes[w % nodes.Count];
                var random = new Random(w);
                for (var i = 0; i < 400; i++)
                {
                    var key = new InstanceKey("prod", $"svc-{random.Next(3)}", $"w{w}-i{random.Next(20)}");
                    var outcome = await node.SubmitAsync(NextChange(random, key, i), CancellationToken.None);

                    // Read-your-writes on the node that took the write.
                    if (outcome.Status is OutcomeStatus.Created or OutcomeStatus.Updated)
                    {
                        Assert.NotNull(node.State.FindInstance(key));
                    }
                }
            })));

            var last = await Task.WhenAll(nodes.Select(n => n.Log.GetLastPositionAsync(CancellationToken.None).AsTask()));
            await Eventually.TrueAsync(() => nodes.All(n => n.State.Revision == last.Max()), "every node applies the whole stream");
            var expected = Describe(nodes[0].State);
            Assert.All(nodes, n => Assert.Equal(expected, Describe(n.State)));
            output.WriteLine($"revision {last.Max()}, {stream.Length} messages, {nodes[0].State.InstanceCount} instances");
        }
        finally
        {
            await stop.CancelAsync();
            await DisposeAsync(nodes);
        }

        var histories = await Task.WhenAll(watches);
        Assert.True(histories[0].Count > 1000, $"{histories[0].Count} events");
        Assert.All(histories, h => Assert.Equal(histories[0], h));
    }

    [Theory]
    [InlineData(StreamChangeLog.DefaultDedupWindow, true)]
    [InlineData(0, false)]
    public async Task BatchesStoredTwice_AreAppliedOnceOnEveryNode_AsIfStoredOnce(int dedupWindow, bool expectSame)
    {
        // A few instances toggled back and forth: a copy applied a second time, after the change that
        // followed its original, shows in the state (and always in the services' sequences).
        var operations = Operations(seed: 7, count: 400);
        var reference = await RunSequentiallyAsync(new InProcessBroker(), 1, operations, dedupWindow);
        var duplicated = await RunSequentiallyAsync(new InProcessBroker(new StreamFaults(Duplicate: 0.4, LoseConfirm: 0, LoseMessage: 0, Seed: 11)), 3, operations, dedupWindow);

        Assert.All(duplicated.Skip(1), d => Assert.Equal(duplicated[0], d));
        if (expectSame)
        {
            Assert.Equal(reference[0], duplicated[0]);
        }
        else
        {
            // The same run without deduplication applies copies twice: the test can see what it checks.
            Assert.NotEqual(reference[0], duplicated[0]);
        }
    }

    [Fact]
    public async Task LostConfirmsAndLostMessages_TheWriterGetsTheRightAnswerOrATimeout_NeverAWrongOne()
    {
        var stream = new InProcessBroker(new StreamFaults(Duplicate: 0.1, LoseConfirm: 0.2, LoseMessage: 0.05, Seed: 5));
        var nodes = await StartAsync(stream, 3, writeTimeout: TimeSpan.FromSeconds(1));
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<InstanceKey, int>();
        var timeouts = 0;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                for (var i = 0; i < 40; i++)
                {
                    var node = nodes[random.Next(nodes.Count)];
                    var key = new InstanceKey("prod", "orders", $"w{w}-i{random.Next(3)}");
                    var port = 1 + (w * 1000) + i;
                    try
                    {
                        var outcome = await node.SubmitAsync(new RegisterChange(key, Registrations.Persistent(port: port), 0), CancellationToken.None);
                        Assert.True(outcome.Status is OutcomeStatus.Created or OutcomeStatus.Updated, $"{key}: {outcome.Status}");
                        Assert.Equal(port, outcome.Instance!.Registration.Port);
                        acknowledged[key] = port;
                    }
                    catch (TimeoutException)
                    {
                        // The outcome is unknown to the writer: the registration may or may not have applied.
                        Interlocked.Increment(ref timeouts);
                        acknowledged.TryRemove(key, out _);
                    }
                }
            })));

            var last = await nodes[0].Log.GetLastPositionAsync(CancellationToken.None);
            await Eventually.TrueAsync(() => nodes.All(n => n.State.Revision == last), "every node applies the whole stream");
            Assert.All(nodes, n => Assert.Equal(Describe(nodes[0].State), Describe(n.State)));

            // Every write the writer was told succeeded, and not overwritten since, is what every node holds.
            foreach (var (key, port) in acknowledged)
            {
                Assert.All(nodes, n => Assert.Equal(port, n.State.FindInstance(key)!.Registration.Port));
            }

            output.WriteLine($"{acknowledged.Count} keys acknowledged last, {timeouts} writes timed out, {stream.Length} messages");
            Assert.True(timeouts > 0, "some messages were lost, so some writers must have timed out");
        }
        finally
        {
            await DisposeAsync(nodes);
        }
    }

    [Fact]
    public async Task AnEntryANodeCannotApply_TurnsThatNodeFailed_Loudly_InsteadOfSkippingIt()
    {
        var stream = new InProcessBroker();
        var nodes = await StartAsync(stream, 2);
        try
        {
            await nodes[0].SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", "a"), Registrations.Persistent(), 0), CancellationToken.None);

            // An entry from a newer (or broken) writer: a change this version does not know.
            await new StreamChangeLog(stream, ClusterNodes.IdOf("ff")).AppendAsync(
                [new ChangeEnvelope(ClusterNodes.IdOf("ff"), 1, new UnknownChange(new InstanceKey("prod", "orders", "b")), AcceptedAt: 0)], CancellationToken.None);

            await Eventually.TrueAsync(() => nodes.All(n => n.Fault is not null), "every node that meets the entry fails");
            Assert.All(nodes, n => Assert.False(n.IsReady));
            Assert.Contains("applier", nodes[0].Fault, StringComparison.Ordinal);
            await Assert.ThrowsAsync<NodeNotReadyException>(() =>
                nodes[1].SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", "c"), Registrations.Persistent(), 0), CancellationToken.None));
            Assert.NotNull(nodes[1].State.FindInstance(new InstanceKey("prod", "orders", "a")));
        }
        finally
        {
            await DisposeAsync(nodes);
        }
    }

    private sealed record UnknownChange(InstanceKey Key) : Change(Key);

    private static async Task<List<RegistryNode>> StartAsync(InProcessBroker stream, int count, TimeSpan? writeTimeout = null, int dedupWindow = StreamChangeLog.DefaultDedupWindow)
    {
        var nodes = new List<RegistryNode>();
        for (var i = 0; i < count; i++)
        {
            var options = new RegistryNodeOptions { KeepAliveInterval = TimeSpan.FromDays(1), WriteTimeout = writeTimeout ?? TimeSpan.FromSeconds(10) };
            nodes.Add(await ClusterNodes.StartAsync(stream, $"{i:x2}", options, TimeProvider.System, dedupWindow: dedupWindow));
        }

        return nodes;
    }

    private static async Task DisposeAsync(List<RegistryNode> nodes)
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>Applies <paramref name="operations"/> one at a time, each on a node chosen by its index; returns
    /// each node's registry without revisions and incarnations (which come from stream positions).</summary>
    private static async Task<List<string>> RunSequentiallyAsync(InProcessBroker stream, int count, List<Change> operations, int dedupWindow)
    {
        var nodes = await StartAsync(stream, count, dedupWindow: dedupWindow);
        try
        {
            for (var i = 0; i < operations.Count; i++)
            {
                await nodes[i % count].SubmitAsync(operations[i], CancellationToken.None);

                // Every node applies it before the next one is written elsewhere: the operations are then
                // causally ordered, and the result depends only on how copies are treated.
                var applied = await nodes[0].Log.GetLastPositionAsync(CancellationToken.None);
                await Eventually.TrueAsync(() => nodes.All(n => n.State.Revision >= applied), "every node applies the operation");
            }

            var last = await nodes[0].Log.GetLastPositionAsync(CancellationToken.None);
            await Eventually.TrueAsync(() => nodes.All(n => n.State.Revision == last), "every node applies the whole stream");
            return nodes.Select(n => DescribeContent(n.State)).ToList();
        }
        finally
        {
            await DisposeAsync(nodes);
        }
    }

    private static List<Change> Operations(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => NextChange(random, new InstanceKey("prod", "orders", $"i{random.Next(4)}"), i)).ToList();
    }

    private static Change NextChange(Random random, InstanceKey key, int i) => random.Next(6) switch
    {
        0 => new DeregisterChange(key, 0),
        1 or 2 => new OperatorChange(key, new OperatorPatch(random.Next(2) == 0, null, null, false)),
        _ => new RegisterChange(key, Registrations.Persistent(port: 1 + (i % 60000)), 0),
    };

    private static async Task<List<string>> Collect(WatchSubscription subscription, CancellationToken cancellationToken)
    {
        var frames = new List<string>();
        try
        {
            await foreach (var frame in subscription.ReadAllAsync(cancellationToken))
            {
                if (frame.Revision > 0)
                {
                    frames.Add(System.Text.Encoding.UTF8.GetString(frame.Bytes.Span));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            subscription.Dispose();
        }

        return frames;
    }

    private static string Describe(RegistryState state) =>
        $"revision {state.Revision}\n" + string.Join('\n', state.Namespaces.Values.SelectMany(ns => ns.Services.Values.Select(s =>
            $"{ns.Name}/{s.Name} seq={s.Sequence} digest={s.Digest:x16} " +
            string.Join(',', s.Instances.Values.Select(i => $"{i.Id}@{i.Incarnation}:{i.Registration.Port}:{i.Operator.Drained}")))));

    private static string DescribeContent(RegistryState state) =>
        string.Join('\n', state.Namespaces.Values.SelectMany(ns => ns.Services.Values.Select(s =>
            $"{ns.Name}/{s.Name} seq={s.Sequence} " +
            string.Join(',', s.Instances.Values.Select(i => $"{i.Id}:{i.Registration.Port}:{i.Operator.Drained}")))));
}
