using System.Globalization;

namespace Roster.PeerBench.Workloads;

/// <summary>Workload sizes and run options; the defaults are the issue's.</summary>
internal sealed record BenchSettings
{
    public IReadOnlyList<string> Peers { get; init; } = ["roster", "etcd", "zookeeper"];
    public int Runs { get; init; } = 3;
    public bool RamDisk { get; init; }
    public bool Pin { get; init; } = true;
    /// <summary>Servers per peer: 1, or 3 with <c>--cluster</c> (etcd members, ZooKeeper servers, Roster nodes with three RabbitMQ brokers).</summary>
    public int Members { get; init; } = 1;
    public int TtlSeconds { get; init; } = 10;
    public int Providers { get; init; } = 100;
    public int InstancesPerProvider { get; init; } = 100;
    public int KeepAliveSeconds { get; init; } = 30;
    public int Watchers { get; init; } = 100;
    public int Changes { get; init; } = 2000;
    public int ChangesPerSecond { get; init; } = 200;
    public int MemoryInstances { get; init; } = 100_000;
    public int FailureInstances { get; init; } = 1000;
    /// <summary>
    /// Which of W1–W7 to run; W1 runs whenever W2, W3, W5, W6 or W7 does, since they start from its instances.
    /// W4 and W6 need a single server, W7 a cluster.
    /// </summary>
    public ISet<string> Workloads { get; init; } = new HashSet<string> { "w1", "w2", "w3", "w4", "w5", "w6" };
    public string Output { get; init; } = Path.Combine("bench", "results");

    public static BenchSettings Parse(string[] args)
    {
        var settings = new BenchSettings();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Number() => int.Parse(Next(), NumberStyles.None, CultureInfo.InvariantCulture);
            settings = args[i] switch
            {
                "--peers" => settings with { Peers = Next().Split(',', StringSplitOptions.RemoveEmptyEntries) },
                "--runs" => settings with { Runs = Number() },
                "--ram" => settings with { RamDisk = true },
                "--no-pin" => settings with { Pin = false },
                "--cluster" => settings with { Members = 3 },
                "--ttl" => settings with { TtlSeconds = Number() },
                "--providers" => settings with { Providers = Number() },
                "--instances-per-provider" => settings with { InstancesPerProvider = Number() },
                "--keepalive-seconds" => settings with { KeepAliveSeconds = Number() },
                "--watchers" => settings with { Watchers = Number() },
                "--changes" => settings with { Changes = Number() },
                "--rate" => settings with { ChangesPerSecond = Number() },
                "--memory-instances" => settings with { MemoryInstances = Number() },
                "--failure-instances" => settings with { FailureInstances = Number() },
                "--workloads" => settings with { Workloads = Next().ToLowerInvariant().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                "--out" => settings with { Output = Next() },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }

        if (settings.Members > 1)
        {
            // A cluster's servers and brokers would crowd one pinned core: nothing is pinned; CPU is still each process's own.
            settings = settings with { Pin = false };
            if (!args.Contains("--workloads"))
            {
                settings = settings with { Workloads = new HashSet<string> { "w1", "w2", "w3", "w5", "w7" } };
            }
            else if (settings.Workloads.Overlaps(["w4", "w6"]))
            {
                throw new ArgumentException("--workloads: W4 (memory) and W6 (restart) measure a single server; with --cluster run w1, w2, w3, w5, w7.");
            }
        }
        else if (settings.Workloads.Contains("w7"))
        {
            throw new ArgumentException("--workloads: W7 kills a member of a cluster; it needs --cluster.");
        }

        foreach (var peer in settings.Peers)
        {
            if (peer is not ("roster" or "etcd" or "zookeeper"))
            {
                throw new ArgumentException($"--peers: unknown peer {peer}; the peers are roster, etcd and zookeeper.");
            }
        }

        return settings;
    }
}
