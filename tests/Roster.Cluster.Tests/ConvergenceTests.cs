using Roster.Cluster.Tests.History;
using Xunit.Abstractions;

namespace Roster.Cluster.Tests;

/// <summary>
/// Eight writers spread over three nodes make 5,000 mixed operations (registrations, re-registrations,
/// drains, deregistrations) while 20 watchers follow: some from the start, some moved to another node
/// mid-stream, some that stop and resume later at another node from their last revision, some that start
/// late. Afterwards every node holds the same registry, no acknowledged write is lost, and every watcher's
/// history is ordered, unique, gapless, resumed without a reset, and ends equal to the registry.
/// </summary>
[Collection(SharedBrokers.Name)]
public sealed class ConvergenceTests(BrokersFixture brokers, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Writers = 8;
    private const int OperationsPerWriter = 625;

    private ClusterProcesses _cluster = null!;

    private List<RosterProcess> Nodes => _cluster.Nodes;

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(brokers.NewBus("convergence"));
    }

    [Fact]
    public async Task Five_thousand_operations_from_eight_writers_converge_and_twenty_watchers_see_every_change_once()
    {
        var addresses = Nodes.Select(n => n.Address).ToList();
        var watchers = new List<WatchRecorder>();
        for (var i = 0; i < 16; i++)
        {
            watchers.Add(new WatchRecorder(addresses, i % 3, "default"));
        }

        watchers.ForEach(w => w.Start());
        var history = new WriteHistory();
        var done = 0;
        var writing = Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            var random = new Random(writer);
            for (var op = 0; op < OperationsPerWriter; op++)
            {
                var node = random.Next(Nodes.Count);
                var instance = random.Next(25);
                var id = $"w{writer}-{instance}";
                var service = $"svc{instance % 4}";
                switch (random.Next(20))
                {
                    case < 11:
                        await history.RegisterAsync(Nodes, node, service, id, 10_000 + op);
                        break;
                    case < 14:
                        await WriteHistory.DrainAsync(Nodes, node, service, id, drained: random.Next(2) == 0);
                        break;
                    case < 17:
                        await history.DeregisterAsync(Nodes, node, service, id);
                        break;
                    default:
                        // The same content again: changes nothing but the lease.
                        await history.RegisterAsync(Nodes, node, service, id, 9_999);
                        break;
                }

                Interlocked.Increment(ref done);
            }
        })).ToList();

        // Along the way: 4 watchers move to another node, 4 stop and come back later elsewhere from their last
        // revision, and 4 start late.
        const int Total = Writers * OperationsPerWriter;
        await Eventually.TrueAsync(() => Volatile.Read(ref done) >= Total * 3 / 10, "30 % written", TimeSpan.FromSeconds(120));
        var stopped = watchers.GetRange(4, 4).ToList();
        watchers.RemoveRange(4, 4);
        foreach (var watcher in stopped)
        {
            await watcher.DisposeAsync();
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref done) >= Total / 2, "half written", TimeSpan.FromSeconds(120));
        for (var i = 0; i < 4; i++)
        {
            watchers[i].MoveTo((i % 3) + 1);
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref done) >= Total * 6 / 10, "60 % written", TimeSpan.FromSeconds(120));
        for (var i = 0; i < stopped.Count; i++)
        {
            var resumed = WatchRecorder.ResumeLater(stopped[i], (i % 3) + 1);
            resumed.Start();
            watchers.Add(resumed);
        }

        for (var i = 0; i < 4; i++)
        {
            var late = new WatchRecorder(addresses, i % 3, "default");
            late.Start();
            watchers.Add(late);
        }

        await Task.WhenAll(writing);
        Assert.Equal(20, watchers.Count);
        await ClusterChecks.AssertConvergedAsync(Nodes, history, watchers);
        output.WriteLine($"{history.Acknowledged} writes acknowledged, {history.Unknown} with an unknown outcome; watchers saw {string.Join(", ", watchers.Select(w => w.Events))} events");
        foreach (var watcher in watchers)
        {
            await watcher.DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
    }
}
