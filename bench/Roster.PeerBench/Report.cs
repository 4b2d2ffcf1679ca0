using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Roster.PeerBench.Workloads;

namespace Roster.PeerBench;

/// <summary>
/// Writes the results: every run's figures as JSON, a Markdown table of medians over runs with Roster's
/// ratios against each peer and the issue's goals, and two charts drawn by gnuplot.
/// </summary>
internal static class Report
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string[] Write(BenchSettings settings, Machine machine, List<PeerResult> results)
    {
        Directory.CreateDirectory(settings.Output);
        var name = Path.Combine(settings.Output, (settings.Members > 1 ? "peers-cluster-" : "peers-") + (settings.RamDisk ? "ram" : "disk"));
        var summary = settings.Peers.ToDictionary(p => p, p => Summarize(results.Where(r => r.Peer == p && r.Error is null).ToList()));
        File.WriteAllText(name + ".json", JsonSerializer.Serialize(new { machine, settings, summary, results }, JsonOptions));
        File.WriteAllText(name + ".md", Markdown(settings, machine, summary, results));
        var charts = Charts(name, summary, results);
        return [name + ".json", name + ".md", .. charts];
    }

    public static (BenchSettings Settings, Machine Machine, List<PeerResult> Results) Read(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        return (root.GetProperty("settings").Deserialize<BenchSettings>(JsonOptions)!,
            root.GetProperty("machine").Deserialize<Machine>(JsonOptions)!,
            root.GetProperty("results").Deserialize<List<PeerResult>>(JsonOptions)!);
    }

    /// <summary>Medians over the runs (worst case for counts that must be zero).</summary>
    private static Dictionary<string, double> Summarize(List<PeerResult> runs)
    {
        double Median(Func<PeerResult, double?> pick) => Stats.Median(runs.Select(pick).Where(v => v is not null).Select(v => v!.Value));
        double Worst(Func<PeerResult, double?> pick) => runs.Select(pick).Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Max();
        return new Dictionary<string, double>
        {
            ["runs"] = runs.Count,
            ["w1PerSecond"] = Median(r => r.W1?.PerSecond),
            ["w1P50Ms"] = Median(r => r.W1?.P50Ms),
            ["w1P99Ms"] = Median(r => r.W1?.P99Ms),
            ["w1CpuUs"] = Median(r => r.W1?.ServerCpuUsPerRegistration),
            ["w2CpuCores"] = Median(r => r.W2?.ServerCpuCores),
            ["w2Lost"] = Worst(r => r.W2 is null ? null : r.W2.InstancesExpected - r.W2.InstancesFound + r.W2.Reregistered),
            ["w3P50Ms"] = Median(r => r.W3?.P50Ms),
            ["w3P99Ms"] = Median(r => r.W3?.P99Ms),
            ["w3MaxMs"] = Median(r => r.W3?.MaxMs),
            ["w3Missed"] = Worst(r => r.W3?.MissedTotal),
            ["w3MissedWorstWatcher"] = Worst(r => r.W3?.MissedWorstWatcher),
            ["w3CpuUs"] = Median(r => r.W3?.ServerCpuUsPerDeliveredEvent),
            ["w4BytesPerInstance"] = Median(r => r.W4?.RssBytesPerInstance),
            ["w4PerSecond"] = Median(r => r.W4?.RegistrationsPerSecond),
            ["w5MedianSeconds"] = Median(r => r.W5?.MedianSeconds),
            ["w5MaxSeconds"] = Worst(r => r.W5?.MaxSeconds),
            ["w6ReadySeconds"] = Median(r => r.W6?.ReadySeconds),
            ["w6Spurious"] = Worst(r => r.W6?.SpuriousDeletes),
            ["w6Lost"] = Worst(r => r.W6 is null ? null : r.W6.InstancesExpected - r.W6.InstancesAfter),
            ["w7RecoveryMedianMs"] = Median(r => r.W7?.RecoveryMedianMs),
            ["w7RecoveryMaxMs"] = Median(r => r.W7?.RecoveryMaxMs),
            ["w7NotRecovered"] = Worst(r => r.W7?.WatchersNotRecovered),
            ["w7LongestWriteMs"] = Median(r => r.W7?.LongestWriteMs),
            ["w7P99Ms"] = Median(r => r.W7?.P99Ms),
            ["w7Missed"] = Worst(r => r.W7?.MissedTotal),
            ["w7LeasesOwnedMs"] = Median(r => r.W7?.LeasesOwnedAgainMs),
            ["w7Spurious"] = Worst(r => r.W7?.SpuriousDeletes),
            ["w7Lost"] = Worst(r => r.W7 is null ? null : r.W7.InstancesExpected - r.W7.InstancesAfter),
        };
    }

    private sealed record Row(string Label, string Key, string Format, bool HigherIsBetter, Func<double, double, double, int, bool>? Goal = null, string GoalText = "");

    private static readonly Row[] Rows =
    [
        new("W1 registrations/s", "w1PerSecond", "0", true, (r, e, z, _) => r >= 3 * e && r >= 3 * z, "≥ 3× etcd and ZooKeeper"),
        new("W1 ack latency p50 (ms)", "w1P50Ms", "0.00", false),
        new("W1 ack latency p99 (ms)", "w1P99Ms", "0.00", false),
        new("W1 server CPU per registration (µs)", "w1CpuUs", "0.0", false, (r, e, z, _) => r <= e / 3 && r <= z / 3, "≤ ⅓ of etcd and ZooKeeper"),
        new("W2 server CPU for keep-alive (cores)", "w2CpuCores", "0.0000", false, (r, e, _, _) => r <= e / 3, "≤ ⅓ of etcd"),
        new("W2 instances lost", "w2Lost", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W3 propagation p50 (ms)", "w3P50Ms", "0.00", false),
        new("W3 propagation p99 (ms)", "w3P99Ms", "0.00", false, (r, e, _, _) => r <= e, "≤ etcd"),
        new("W3 propagation max (ms)", "w3MaxMs", "0.0", false),
        new("W3 changes missed (all watchers, worst run)", "w3Missed", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W3 changes missed by the worst watcher", "w3MissedWorstWatcher", "0", false),
        new("W3 server CPU per delivered event (µs)", "w3CpuUs", "0.00", false),
        new("W4 RSS per instance (bytes)", "w4BytesPerInstance", "0", false, (r, e, _, _) => r <= e, "≤ etcd"),
        new("W4 registrations/s (100 providers)", "w4PerSecond", "0", true),
        new("W5 failure seen by watchers, median (s)", "w5MedianSeconds", "0.00", false),
        new("W5 failure seen by every watcher (s)", "w5MaxSeconds", "0.00", false, (r, _, _, ttl) => r <= ttl + 1, "≤ TTL + 1 s"),
        new("W6 restart: ready after (s)", "w6ReadySeconds", "0.00", false),
        new("W6 restart: spurious deletes", "w6Spurious", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W6 restart: instances lost", "w6Lost", "0", false),
    ];

    /// <summary>
    /// A cluster of three for each peer: Roster's three nodes and three RabbitMQ brokers against etcd's three
    /// members and ZooKeeper's three servers, with the cluster issue's goals.
    /// </summary>
    private static readonly Row[] ClusterRows =
    [
        new("W1 registrations/s", "w1PerSecond", "0", true, (r, e, _, _) => r >= 2 * e, "≥ 2× etcd"),
        new("W1 ack latency p50 (ms)", "w1P50Ms", "0.00", false),
        new("W1 ack latency p99 (ms)", "w1P99Ms", "0.00", false),
        new("W1 server CPU per registration, all servers (µs)", "w1CpuUs", "0.0", false),
        new("W2 server CPU for keep-alive, all servers (cores)", "w2CpuCores", "0.0000", false),
        new("W2 instances lost", "w2Lost", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W3 propagation to other members p50 (ms)", "w3P50Ms", "0.00", false),
        new("W3 propagation to other members p99 (ms)", "w3P99Ms", "0.00", false, (r, e, _, _) => r <= e, "≤ etcd"),
        new("W3 propagation max (ms)", "w3MaxMs", "0.0", false),
        new("W3 changes missed (all watchers, worst run)", "w3Missed", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W3 server CPU per delivered event, all servers (µs)", "w3CpuUs", "0.00", false),
        new("W5 failure seen by watchers, median (s)", "w5MedianSeconds", "0.00", false),
        new("W5 failure seen by every watcher (s)", "w5MaxSeconds", "0.00", false, (r, _, _, ttl) => r <= ttl + 1, "≤ TTL + 1 s"),
        new("W7 member killed: watchers have new changes, median (ms)", "w7RecoveryMedianMs", "0", false),
        new("W7 member killed: every watcher has new changes (ms)", "w7RecoveryMaxMs", "0", false),
        new("W7 member killed: watchers that never had one", "w7NotRecovered", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W7 member killed: longest write (ms)", "w7LongestWriteMs", "0", false),
        new("W7 member killed: propagation p99 (ms)", "w7P99Ms", "0.00", false),
        new("W7 member killed: changes missed", "w7Missed", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W7 member killed: its leases owned again (ms)", "w7LeasesOwnedMs", "0", false),
        new("W7 member killed: spurious deletes", "w7Spurious", "0", false, (r, _, _, _) => r == 0, "0"),
        new("W7 member killed: instances lost", "w7Lost", "0", false, (r, _, _, _) => r == 0, "0"),
    ];

    private static string Markdown(BenchSettings settings, Machine machine, Dictionary<string, Dictionary<string, double>> summary, List<PeerResult> results)
    {
        var text = new StringBuilder();
        var cluster = settings.Members > 1;
        text.AppendLine(CultureInfo.InvariantCulture, $"# Roster, etcd and ZooKeeper side by side ({(settings.RamDisk ? "RAM parity" : "durable")}{(cluster ? $", clusters of {settings.Members}" : "")})");
        text.AppendLine();
        text.AppendLine(machine.Summary + ".");
        if (cluster)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Each peer runs {settings.Members} servers: Roster {settings.Members} nodes and {settings.Members} RabbitMQ brokers (their CPU counts as Roster's), etcd {settings.Members} members, ZooKeeper an ensemble of {settings.Members}. Nothing is pinned. Providers are spread over the members; W3's writer uses the first member and Roster's and etcd's watchers the others (ZooKeeper's client picks a server at random). W7 kills a member that is not its cluster's leader a quarter of the way through W3's changes; its clients move to another member.");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"Medians of {settings.Runs} runs. W1: {settings.Providers} providers × {settings.InstancesPerProvider} instances over {Naming.Services} services, TTL {settings.TtlSeconds} s. ");
        text.Append(CultureInfo.InvariantCulture, $"W2: {settings.KeepAliveSeconds} s. W3: {settings.Watchers} watchers, {settings.Changes} changes at {settings.ChangesPerSecond}/s. ");
        if (!cluster)
        {
            text.Append(CultureInfo.InvariantCulture, $"W4: {settings.MemoryInstances} instances. ");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"W5: {settings.FailureInstances} instances. Counts that must be zero show the worst run.");
        text.AppendLine();
        string Cell(string peer, Row row) => summary.TryGetValue(peer, out var s) && s.TryGetValue(row.Key, out var v) && !double.IsNaN(v)
            ? v.ToString(row.Format, CultureInfo.InvariantCulture) : "–";
        text.AppendLine("| Metric | Roster | etcd | ZooKeeper | Roster vs etcd | Roster vs ZooKeeper | Goal | Met |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        foreach (var row in cluster ? ClusterRows : Rows)
        {
            var r = Value(summary, "roster", row.Key);
            var e = Value(summary, "etcd", row.Key);
            var z = Value(summary, "zookeeper", row.Key);
            // A goal against a peer that did not run stays blank rather than passing by default.
            var peersNeeded = row.GoalText.Contains("ZooKeeper", StringComparison.Ordinal) ? [e, z] : row.GoalText.Contains("etcd", StringComparison.Ordinal) ? new[] { e } : [];
            var met = row.Goal is null || double.IsNaN(r) || peersNeeded.Any(double.IsNaN) ? ""
                : row.Goal(r, e, z, settings.TtlSeconds) ? "yes" : "**no**";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Label} | {Cell("roster", row)} | {Cell("etcd", row)} | {Cell("zookeeper", row)} | {Ratio(r, e, row.HigherIsBetter)} | {Ratio(r, z, row.HigherIsBetter)} | {row.GoalText} | {met} |");
        }

        text.AppendLine();
        text.AppendLine("Ratios read \"Roster is N× better\": throughput divided by the peer's, or the peer's cost divided by Roster's.");
        foreach (var failed in results.Where(r => r.Error is not null))
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"Run {failed.Run} of {failed.Peer} failed: `{failed.Error!.Split('\n')[0]}`");
        }

        return text.ToString();
    }

    private static double Value(Dictionary<string, Dictionary<string, double>> summary, string peer, string key) =>
        summary.TryGetValue(peer, out var s) && s.TryGetValue(key, out var v) ? v : double.NaN;

    private static string Ratio(double roster, double peer, bool higherIsBetter)
    {
        if (double.IsNaN(roster) || double.IsNaN(peer) || roster == 0 || peer == 0)
        {
            return "–";
        }

        var ratio = higherIsBetter ? roster / peer : peer / roster;
        return ratio.ToString(ratio >= 10 ? "0" : "0.0", CultureInfo.InvariantCulture) + "×";
    }

    /// <summary>Two PNG charts: Roster's advantage per workload, and the W1 and W3 latency distributions.</summary>
    private static string[] Charts(string name, Dictionary<string, Dictionary<string, double>> summary, List<PeerResult> results)
    {
        var data = new StringBuilder("# metric etcd zookeeper\n");
        foreach (var (label, key, higher) in new[]
        {
            ("W1-throughput", "w1PerSecond", true), ("W1-CPU/registration", "w1CpuUs", false), ("W2-keep-alive-CPU", "w2CpuCores", false),
            ("W3-p99", "w3P99Ms", false), ("W4-RSS/instance", "w4BytesPerInstance", false), ("W5-detection", "w5MaxSeconds", false),
            ("W6-ready", "w6ReadySeconds", false),
        })
        {
            var r = Value(summary, "roster", key);
            string RatioOf(string peer)
            {
                var p = Value(summary, peer, key);
                return double.IsNaN(r) || double.IsNaN(p) || r == 0 || p == 0 ? "NaN" : (higher ? r / p : p / r).ToString("0.###", CultureInfo.InvariantCulture);
            }

            data.AppendLine(CultureInfo.InvariantCulture, $"{label} {RatioOf("etcd")} {RatioOf("zookeeper")}");
        }

        File.WriteAllText(name + "-ratios.dat", data.ToString());
        var distributions = new StringBuilder("percentile");
        var peers = results.Select(r => r.Peer).Distinct().ToList();
        foreach (var peer in peers)
        {
            distributions.Append(CultureInfo.InvariantCulture, $" {peer}-W1 {peer}-W3");
        }

        distributions.AppendLine();
        var runs = peers.ToDictionary(p => p, p => results.FirstOrDefault(r => r.Peer == p && r.Error is null));
        for (var p = 0; p <= 100; p++)
        {
            distributions.Append(p);
            foreach (var peer in peers)
            {
                var run = runs[peer];
                distributions.Append(CultureInfo.InvariantCulture, $" {Number(run?.W1?.LatencyPercentilesMs, p)} {Number(run?.W3?.LatencyPercentilesMs, p)}");
            }

            distributions.AppendLine();
        }

        File.WriteAllText(name + "-latency.dat", distributions.ToString());
        var columns = string.Join(", ", peers.Select((peer, i) => $"'{name}-latency.dat' using {2 + 2 * i}:1 with lines lw 2 title '{peer}'"));
        var columnsW3 = string.Join(", ", peers.Select((peer, i) => $"'{name}-latency.dat' using {3 + 2 * i}:1 with lines lw 2 title '{peer}'"));
        var ratioChart = summary.ContainsKey("roster") && summary.Count > 1 ? $"""
            set output '{name}-ratios.png'
            set title "How many times better Roster is, per workload (1 = equal; above 1 Roster is ahead)"
            set style data histograms
            set style histogram clustered gap 1
            set style fill solid 0.8 border -1
            set logscale y
            set grid ytics
            set xtics rotate by -20
            set ylabel 'ratio (log scale)'
            plot '{name}-ratios.dat' using 2:xtic(1) title 'vs etcd', '' using 3 title 'vs ZooKeeper', 1 with lines lc rgb 'black' notitle
            unset style
            unset logscale y
            set xtics norotate
            """ : "";
        var script = $"""
            set terminal pngcairo size 1100,520 font 'sans,10'
            {ratioChart}
            set output '{name}-latency.png'
            set multiplot layout 1,2
            set grid
            set logscale x
            set ylabel 'percentile'
            set key bottom right
            set title 'W1: registration acknowledgement (ms)'
            plot {columns}
            set title 'W3: write acknowledged → watcher has it (ms)'
            plot {columnsW3}
            unset multiplot
            """;
        File.WriteAllText(name + ".gnuplot", script);
        try
        {
            using var gnuplot = Process.Start(new ProcessStartInfo("gnuplot", name + ".gnuplot") { RedirectStandardError = true })!;
            var errors = gnuplot.StandardError.ReadToEnd();
            gnuplot.WaitForExit();
            if (gnuplot.ExitCode != 0)
            {
                Console.Error.WriteLine("gnuplot: " + errors);
                return [];
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine("gnuplot is not installed; charts skipped (apt-get install gnuplot-nox).");
            return [];
        }

        return ratioChart.Length > 0 ? [name + "-ratios.png", name + "-latency.png"] : [name + "-latency.png"];
    }

    private static string Number(double[]? values, int index) =>
        values is { Length: > 0 } && !double.IsNaN(values[index]) ? Math.Max(values[index], 0.001).ToString("0.###", CultureInfo.InvariantCulture) : "NaN";
}
