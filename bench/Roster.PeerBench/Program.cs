using System.Diagnostics;
using System.Globalization;
using Roster.PeerBench;
using Roster.PeerBench.Workloads;

// Roster, etcd and ZooKeeper side by side: bench/peers.sh installs what is missing and runs this.
//   dotnet bench/Roster.PeerBench/bin/Release/net10.0/Roster.PeerBench.dll [--peers roster,etcd,zookeeper] [--runs 3] [--ram] ...
if (args is ["hold", var peer, var address, var instances, var ttl])
{
    // W5's holder process: see Holder.
    var uri = new Uri(address);
    RecordingDriver driver = peer == "etcd" ? new Roster.PeerBench.Etcd.EtcdDriver([uri]) : new Roster.PeerBench.Roster.RosterDriver([uri]);
    return await Holder.RunAsync(driver, int.Parse(instances, CultureInfo.InvariantCulture), int.Parse(ttl, CultureInfo.InvariantCulture));
}

if (args is ["--report", var saved])
{
    // Writes the table and charts again from a results file, after a change to the report.
    var (savedSettings, savedMachine, savedResults) = Report.Read(saved);
    foreach (var file in Report.Write(savedSettings with { Output = Path.GetDirectoryName(saved)! }, savedMachine, savedResults))
    {
        Console.WriteLine($"wrote {file}");
    }

    return 0;
}

BenchSettings settings;
try
{
    settings = BenchSettings.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

if (settings.Pin && Environment.ProcessorCount >= 2 && OperatingSystem.IsLinux())
{
    // The load generator (this process, the holder and ZooKeeper's Java agent, which inherit it) on CPU 0;
    // each server on CPU 1. Neither then steals the other's core, and the server's CPU time is its own.
    Process.GetCurrentProcess().ProcessorAffinity = 1;
}

var machine = Machine.Describe(settings);
Console.WriteLine(machine.Summary);
var work = Path.Combine(settings.RamDisk ? "/dev/shm" : Path.GetTempPath(), "roster-peers-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
var results = new List<PeerResult>();
try
{
    for (var run = 1; run <= settings.Runs; run++)
    {
        // Rotate the order between runs so no peer always goes first on a cold machine.
        var order = settings.Peers.Skip((run - 1) % settings.Peers.Count).Concat(settings.Peers.Take((run - 1) % settings.Peers.Count));
        foreach (var name in order)
        {
            results.Add(await new PeerRun(settings, name, run, work).RunAsync(CancellationToken.None));
        }
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

var files = Report.Write(settings, machine, results);
foreach (var file in files)
{
    Console.WriteLine($"wrote {file}");
}

Console.WriteLine();
Console.WriteLine(File.ReadAllText(files[1]));
return results.Any(r => r.Error is not null) ? 1 : 0;
