using System.Diagnostics;
using System.Globalization;
using Roster.Benchmarks;

namespace Roster.Bench;

/// <summary>
/// <c>roster serve</c> as its own process, so its CPU time (utime + stime from /proc) and memory are
/// measured apart from the load generator's.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int Pid => _process.Id;

    public static async Task<(ServerProcess Server, TimeSpan ReadyAfter)> StartAsync(string dataDirectory, params string[] settings)
    {
        var clock = Stopwatch.StartNew();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "roster.dll"), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory, .. settings])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            const string marker = "Now listening on: ";
            if (e.Data?.IndexOf(marker, StringComparison.Ordinal) is { } at and >= 0)
            {
                listening.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var address = await listening.Task.WaitAsync(TimeSpan.FromMinutes(2));
        using var client = new HttpClient { BaseAddress = address };
        while (true)
        {
            try
            {
                using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(5);
        }

        return (new ServerProcess(process, address), clock.Elapsed);
    }

    /// <summary>User plus system CPU time the server has used so far.</summary>
    public TimeSpan CpuTime() => ProcessStats.CpuTime(Pid);

    /// <summary>The server's resident set size in bytes.</summary>
    public long ResidentBytes() => ProcessStats.ResidentBytes(Pid);

    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async Task StopGracefullyAsync()
    {
        using var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]);
        await term.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }
}
