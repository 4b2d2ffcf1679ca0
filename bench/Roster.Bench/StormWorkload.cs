using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Roster.Bench;

/// <summary>
/// Goodput under a registration storm (issue 14): first the node's unloaded maximum, registrations acknowledged per
/// second with 64 connections (enough to keep it busy); then a storm of <c>stormConnections</c> connections, each
/// sending registration after registration and, turned away, asking again at once (wrk does not honour Retry-After:
/// the worst a storm can do). Goodput is the registrations acknowledged per second during the storm; the latency of
/// the ones it accepts is sampled by 8 HttpClient callers inside the storm. wrk (Debian's <c>wrk</c>, C) is the load:
/// it costs the shared two cores far less per request than HttpClient, so the storm can offer more than the node takes.
/// </summary>
internal static class StormWorkload
{
    public static async Task RunAsync(int seconds, int stormConnections, string[] serverSettings)
    {
        Console.WriteLine($"storm: registration goodput, unloaded (64 connections) then under a storm of {stormConnections} connections that retry at once, {seconds} s each");
        var script = FindUp(Path.Combine("bench", "wrk", "storm.lua"));
        if (!File.Exists("/usr/bin/wrk") || script is null)
        {
            Console.WriteLine("  skipped: needs /usr/bin/wrk (apt-get install wrk) and bench/wrk/storm.lua");
            return;
        }

        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, serverSettings);
        await using (server)
        {
            await RunWrkAsync(script, server.Address, 64, 3, "warm");
            var unloaded = await RunWrkAsync(script, server.Address, 64, seconds, "u");
            Console.WriteLine($"  unloaded: {unloaded.Accepted / (double)seconds:N0} registrations/s acknowledged, {unloaded.Shed} shed, {unloaded.Other} other, {unloaded.Errors} errors; latency {unloaded.Latency}");

            using var latencies = new Latencies();
            using var stop = new CancellationTokenSource();
            var sampled = new int[2];
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };
            var samplers = Enumerable.Range(0, 8).Select(s => Task.Run(async () =>
            {
                var body = Workloads.BenchRegistrationBody();
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.PutAsync(new Uri($"/api/v1/namespaces/bench/services/sampled/instances/s{s}-{n}", UriKind.Relative), Workloads.JsonContent(body));
                    if (response.IsSuccessStatusCode)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(started));
                        Interlocked.Increment(ref sampled[0]);
                    }
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        Interlocked.Increment(ref sampled[1]);
                    }
                }
            })).ToArray();
            var cpu = server.CpuTime();
            var storm = await RunWrkAsync(script, server.Address, stormConnections, seconds, "x");
            var serverCpu = server.CpuTime() - cpu;
            await stop.CancelAsync();
            await Task.WhenAll(samplers);

            var offered = (storm.Accepted + storm.Shed + storm.Other) / (double)seconds;
            var goodput = storm.Accepted / (double)seconds;
            var maximum = unloaded.Accepted / (double)seconds;
            Console.WriteLine($"  storm: {offered:N0} requests/s answered ({offered / maximum:0.0}x the unloaded maximum), {goodput:N0} registrations/s acknowledged " +
                              $"= {goodput / maximum:P0} of the unloaded maximum; {storm.Shed / (double)seconds:N0}/s shed (503), {storm.Other} other, {storm.Errors} errors; server {serverCpu / TimeSpan.FromSeconds(seconds):0.00} cores");
            Console.WriteLine($"  storm latency, all answers (wrk): {storm.Latency}");
            Console.WriteLine($"  storm latency of acknowledged registrations (8 sampling callers, {sampled[0]} acknowledged, {sampled[1]} shed): {latencies.Summary()}");
        }

        Directory.Delete(directory, recursive: true);
    }

    /// <summary>What turning a registration away costs the node: every PUT is shed (an admission bound of one request),
    /// 64 wrk connections send them, and the node's CPU is divided by the answers.</summary>
    public static async Task ShedCostAsync(int seconds)
    {
        Console.WriteLine($"shed: the node's CPU per registration turned away (503 overloaded), 64 connections, {seconds} s");
        var script = FindUp(Path.Combine("bench", "wrk", "storm.lua"));
        if (!File.Exists("/usr/bin/wrk") || script is null)
        {
            Console.WriteLine("  skipped: needs /usr/bin/wrk (apt-get install wrk) and bench/wrk/storm.lua");
            return;
        }

        var directory = Path.Combine(Path.GetTempPath(), "roster-bench-" + Guid.NewGuid().ToString("N"));
        var (server, _) = await ServerProcess.StartAsync(directory, "--Roster:Admission:MaxConcurrentRequests=1");
        await using (server)
        {
            await RunWrkAsync(script, server.Address, 64, 3, "warm");
            var cpu = server.CpuTime();
            var shed = await RunWrkAsync(script, server.Address, 64, seconds, "s");
            var serverCpu = server.CpuTime() - cpu;
            Console.WriteLine($"  {shed.Shed / (double)seconds:N0} answers/s shed, {shed.Accepted} acknowledged; server CPU {serverCpu.TotalMicroseconds / shed.Shed:0.0} µs per answer, {serverCpu / TimeSpan.FromSeconds(seconds):0.00} cores; latency {shed.Latency}");
        }

        Directory.Delete(directory, recursive: true);
    }

    private sealed record WrkResult(long Accepted, long Shed, long Other, long Errors, string Latency);

    private static async Task<WrkResult> RunWrkAsync(string script, Uri address, int connections, int seconds, string prefix)
    {
        var start = new ProcessStartInfo("/usr/bin/wrk") { RedirectStandardOutput = true };
        foreach (var arg in (string[])["-t1", $"-c{connections}", $"-d{seconds}s", "--timeout", "30s", "--latency", "-s", script, address.ToString().TrimEnd('/'), "--", prefix])
        {
            start.ArgumentList.Add(arg);
        }

        using var wrk = Process.Start(start)!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var lines = output.Split('\n').Select(l => l.Trim()).ToList();
        string Field(string prefix) => lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? "?";
        long Count(string name) => long.Parse(Field(name + " ").Split(' ')[1], CultureInfo.InvariantCulture);
        return new WrkResult(Count("accepted"), Count("shed"), Count("other"), Count("errors"), $"{Field("50%")}, {Field("99%")}");
    }

    private static string? FindUp(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
