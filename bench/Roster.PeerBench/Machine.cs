using System.Diagnostics;
using Roster.PeerBench.Workloads;

namespace Roster.PeerBench;

/// <summary>What the figures were measured on: machine, versions, mode and date.</summary>
internal sealed record Machine(string Date, int Cores, string Cpu, string Os, string Dotnet, string Etcd, string ZooKeeper, string Java, string Roster, string Mode)
{
    public string Summary =>
        $"{Date}: {Cores} cores ({Cpu}), {Os}; .NET {Dotnet}; etcd {Etcd}; ZooKeeper {ZooKeeper} on Java {Java}; Roster {Roster}; {Mode}";

    public static Machine Describe(BenchSettings settings)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        var os = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? "?";
        var mode = (settings.RamDisk ? "every data directory on /dev/shm (RAM parity)" : "every data directory on disk (durable)")
            + (settings.Pin ? ", servers pinned to CPU 1 and load generators to CPU 0" : ", no pinning");
        return new Machine(
            DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            Environment.ProcessorCount,
            cpu,
            os,
            Environment.Version.ToString(),
            FirstLine("etcd", "--version").Replace("etcd Version: ", "", StringComparison.Ordinal),
            FirstLine("dpkg-query", "-W", "-f", "${Version}", "zookeeper"),
            FirstLine("java", "-version"),
            FirstLine("git", "-C", AppContext.BaseDirectory, "describe", "--always", "--dirty"),
            mode);
    }

    private static string FirstLine(string file, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
