using System.Diagnostics;

namespace Roster.Testing;

/// <summary>
/// <c>roster serve</c> as a separate process on 127.0.0.1 and an ephemeral port, so a test can SIGKILL
/// it. Stopped by its PID when disposed, never by name.
/// </summary>
public sealed class RosterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output;

    private RosterProcess(Process process, Uri address, List<string> output)
    {
        _process = process;
        _output = output;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    /// <summary>The separate health probe port's address, when the node was started with one (<c>--health-port</c>).</summary>
    public Uri? HealthAddress { get; private init; }

    public HttpClient Client { get; }

    public static Task<RosterProcess> StartAsync(string dataDirectory, params string[] settings) => StartOnPortAsync(0, dataDirectory, settings);

    /// <summary>As <see cref="StartAsync"/>, on a port chosen by the caller (so it can be watched before it is ready).</summary>
    public static async Task<RosterProcess> StartOnPortAsync(int port, string dataDirectory, params string[] settings)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "roster.dll"), "serve", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDirectory, .. settings])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start roster.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var healthAddress = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("roster exited:\n" + string.Join('\n', lines)));
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            const string marker = "Now listening on: ";
            var at = e.Data.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                listening.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Trim()));
            }

            const string probes = "Health probes listening on: ";
            at = e.Data.IndexOf(probes, StringComparison.Ordinal);
            if (at >= 0)
            {
                healthAddress.TrySetResult(new Uri(e.Data[(at + probes.Length)..].Split(' ')[0]));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (lines)
            {
                lines.Add("stderr: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Uri address;
            try
            {
                address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                lock (lines)
                {
                    throw new TimeoutException("roster did not listen within 30 s; it printed:\n" + string.Join('\n', lines.TakeLast(40)));
                }
            }

            var roster = new RosterProcess(process, address, lines) { HealthAddress = healthAddress.Task.IsCompletedSuccessfully ? await healthAddress.Task : null };
            await roster.WaitReadyAsync();
            return roster;
        }
        catch
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            throw;
        }
    }

    public int Pid => _process.Id;

    /// <summary>What the process printed so far (standard error lines start with <c>stderr: </c>).</summary>
    public IReadOnlyList<string> Output()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    /// <summary>Resident memory of the process now (VmRSS), from /proc.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>SIGKILL: no shutdown hooks, no final checkpoint, no flush.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var response = await Client.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("roster did not become ready; it printed:\n" + string.Join('\n', Output().TakeLast(40)));
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
