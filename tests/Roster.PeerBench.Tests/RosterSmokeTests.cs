using System.Diagnostics;
using System.Text.Json;

namespace Roster.PeerBench.Tests;

/// <summary>
/// The peer benchmark end to end against Roster with small sizes: a real <c>roster serve</c> process,
/// every workload, the results file. It keeps the benchmark from rotting between the runs that produce
/// figures (etcd and ZooKeeper are not installed on CI machines; their drivers run in bench/peers.sh).
/// </summary>
public sealed class RosterSmokeTests
{
    [Fact]
    public async Task Every_workload_runs_against_roster_and_reports_no_loss()
    {
        var output = Path.Combine(Path.GetTempPath(), "roster-peers-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RunBenchAsync(output, "--peers", "roster", "--runs", "1", "--no-pin",
                "--providers", "4", "--instances-per-provider", "25", "--ttl", "3", "--keepalive-seconds", "1", "--watchers", "3",
                "--changes", "40", "--memory-instances", "400", "--failure-instances", "5");
            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "peers-disk.json")));
            var run = Assert.Single(results.RootElement.GetProperty("results").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, run.GetProperty("Error").ValueKind);

            var w1 = run.GetProperty("W1");
            Assert.Equal(100, w1.GetProperty("Registrations").GetInt32());
            Assert.True(w1.GetProperty("PerSecond").GetDouble() > 0);
            Assert.Equal(101, w1.GetProperty("LatencyPercentilesMs").GetArrayLength());

            var w2 = run.GetProperty("W2");
            Assert.Equal(100, w2.GetProperty("InstancesFound").GetInt64());
            Assert.Equal(0, w2.GetProperty("Reregistered").GetInt32());

            var w3 = run.GetProperty("W3");
            Assert.Equal(0, w3.GetProperty("MissedTotal").GetInt32());
            Assert.Equal(0, w3.GetProperty("MissedWorstWatcher").GetInt32());

            Assert.True(run.GetProperty("W4").GetProperty("Instances").GetInt32() == 400);

            var w5 = run.GetProperty("W5");
            Assert.Equal(0, w5.GetProperty("WatchersNotSeeingAll").GetInt32());
            // Leases run from the last renewal: gone between TTL − TTL/3 and TTL, plus detection, and within TTL + 1 s.
            Assert.InRange(w5.GetProperty("MaxSeconds").GetDouble(), 1.5, 3 + 1);

            var w6 = run.GetProperty("W6");
            Assert.Equal(0, w6.GetProperty("SpuriousDeletes").GetInt64());
            Assert.Equal(100, w6.GetProperty("InstancesAfter").GetInt64());

            Assert.Contains("| W1 registrations/s |", await File.ReadAllTextAsync(Path.Combine(output, "peers-disk.md")), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    /// <summary>
    /// The cluster mode against three <c>roster serve --cluster</c> nodes and three RabbitMQ brokers that the
    /// benchmark starts itself (./eng/test.sh installs RabbitMQ): W7 kills a node a quarter of the way through
    /// the changes, and its providers and watchers carry on at the others without a loss.
    /// </summary>
    [Fact]
    public async Task Cluster_mode_runs_against_three_roster_nodes_and_survives_a_killed_node()
    {
        var output = Path.Combine(Path.GetTempPath(), "roster-peers-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RunBenchAsync(output, "--cluster", "--peers", "roster", "--runs", "1",
                "--providers", "6", "--instances-per-provider", "20", "--ttl", "6", "--keepalive-seconds", "1", "--watchers", "4",
                "--changes", "200", "--rate", "50", "--failure-instances", "5");
            using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "peers-cluster-disk.json")));
            var run = Assert.Single(results.RootElement.GetProperty("results").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, run.GetProperty("Error").ValueKind);
            Assert.Equal(120, run.GetProperty("W1").GetProperty("Registrations").GetInt32());
            Assert.True(run.GetProperty("W1").GetProperty("ServerCpuUsPerRegistration").GetDouble() > 0);
            Assert.Equal(0, run.GetProperty("W3").GetProperty("MissedTotal").GetInt32());
            Assert.Equal(0, run.GetProperty("W5").GetProperty("WatchersNotSeeingAll").GetInt32());
            Assert.Equal(JsonValueKind.Null, run.GetProperty("W6").ValueKind);

            var w7 = run.GetProperty("W7");
            Assert.InRange(w7.GetProperty("KilledMember").GetInt32(), 1, 2);
            Assert.Equal(0, w7.GetProperty("WatchersNotRecovered").GetInt32());
            Assert.Equal(0, w7.GetProperty("MissedTotal").GetInt32());
            Assert.Equal(0, w7.GetProperty("SpuriousDeletes").GetInt64());
            Assert.Equal(120, w7.GetProperty("InstancesAfter").GetInt64());
            // The killed node's providers renew at another node within a renewal interval and a retry.
            Assert.InRange(w7.GetProperty("LeasesOwnedAgainMs").GetDouble(), 0, 6_000);

            var report = await File.ReadAllTextAsync(Path.Combine(output, "peers-cluster-disk.md"));
            Assert.Contains("clusters of 3", report, StringComparison.Ordinal);
            Assert.Contains("| W7 member killed: instances lost |", report, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static async Task RunBenchAsync(string output, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "Roster.PeerBench.dll"), .. args, "--out", output])
        {
            start.ArgumentList.Add(arg);
        }

        using var bench = Process.Start(start)!;
        var stdout = bench.StandardOutput.ReadToEndAsync();
        var stderr = bench.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await bench.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            bench.Kill(entireProcessTree: true);
            throw;
        }

        Assert.True(bench.ExitCode == 0, $"exit {bench.ExitCode}\n{await stdout}\n{await stderr}");
    }
}
