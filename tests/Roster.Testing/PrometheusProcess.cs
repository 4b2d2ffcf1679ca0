using System.Diagnostics;

namespace Roster.Testing;

/// <summary>
/// Debian's Prometheus server as a process on 127.0.0.1, with a configuration and a data directory of its own; stopped
/// by its PID when disposed.
/// </summary>
public sealed class PrometheusProcess : IAsyncDisposable
{
    private const string Binary = "/usr/bin/prometheus";
    private readonly Process _process;
    private readonly string _directory;
    private readonly List<string> _output = [];

    private PrometheusProcess(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>Starts Prometheus with <paramref name="configuration"/> (prometheus.yml) and waits until it is ready.</summary>
    public static async Task<PrometheusProcess> StartAsync(string configuration)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"Prometheus is not installed ({Binary}); ./eng/test.sh installs it (apt-get install prometheus).");
        }

        var directory = Directory.CreateTempSubdirectory("roster-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, configuration);
        var port = LoopbackPorts.Free();
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start Prometheus.");
        var prometheus = new PrometheusProcess(process, directory, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => prometheus.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => prometheus.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.TrueAsync(prometheus.IsReadyAsync, "Prometheus is ready", TimeSpan.FromSeconds(30));
            return prometheus;
        }
        catch (TimeoutException)
        {
            await prometheus.DisposeAsync();
            throw new TimeoutException("Prometheus did not become ready; it printed:\n" + string.Join('\n', prometheus.Output().TakeLast(30)));
        }
    }

    public IReadOnlyList<string> Output()
    {
        lock (_output)
        {
            return [.. _output];
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await Client.GetAsync(new Uri("/-/ready", UriKind.Relative));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
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
        Directory.Delete(_directory, recursive: true);
    }
}
