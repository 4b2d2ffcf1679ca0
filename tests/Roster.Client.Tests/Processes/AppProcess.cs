using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Roster.Client.Tests.Processes;

/// <summary>
/// One of the repository's executables (the registry, a sample provider or consumer) as its own OS
/// process on loopback, with its output kept for failure messages. Stopped by its PID: gracefully with
/// SIGTERM, or killed with SIGKILL; killed when disposed if still running.
/// </summary>
internal sealed class AppProcess : IAsyncDisposable
{
    private const string ListeningMarker = "Now listening on: ";
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AppProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public Uri Address { get; private set; } = null!;

    public bool HasExited => _process.HasExited;

    /// <summary>A registry node (<c>roster serve</c>) on <paramref name="port"/> with its log in <paramref name="dataDirectory"/>.</summary>
    public static async Task<AppProcess> StartRegistryAsync(int port, string dataDirectory)
    {
        var registry = await StartAsync(
            "registry", Built("src/Roster", "roster.dll"),
            ["serve", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDirectory]);
        using var client = new HttpClient { BaseAddress = registry.Address };
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
                    return ready.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            "the registry process is ready",
            TimeSpan.FromSeconds(60));
        return registry;
    }

    /// <summary>A sample provider of "orders" (samples/Orders.Provider) on a free port.</summary>
    public static Task<AppProcess> StartProviderAsync(string name, Uri registry, params string[] settings) =>
        StartAsync(name, Built("samples/Orders.Provider", "Orders.Provider.dll"), ["--urls", "http://127.0.0.1:0", .. RegistrySetting(registry), .. settings]);

    /// <summary>A sample consumer (samples/Orders.Consumer) on a free port.</summary>
    public static Task<AppProcess> StartConsumerAsync(string name, Uri registry, params string[] settings) =>
        StartAsync(name, Built("samples/Orders.Consumer", "Orders.Consumer.dll"), ["--urls", "http://127.0.0.1:0", .. RegistrySetting(registry), .. settings]);

    /// <summary>A sample consumer with environment variables of its own (a <c>KUBECONFIG</c>, say).</summary>
    public static Task<AppProcess> StartConsumerAsync(string name, Uri registry, IReadOnlyDictionary<string, string> environment, params string[] settings) =>
        StartAsync(name, Built("samples/Orders.Consumer", "Orders.Consumer.dll"), ["--urls", "http://127.0.0.1:0", .. RegistrySetting(registry), .. settings], environment);

    /// <summary>The sample YARP gateway (samples/Orders.Gateway) on a free port.</summary>
    public static Task<AppProcess> StartGatewayAsync(string name, Uri registry, params string[] settings) =>
        StartAsync(name, Built("samples/Orders.Gateway", "Orders.Gateway.dll"), ["--urls", "http://127.0.0.1:0", .. RegistrySetting(registry), .. settings]);

    /// <summary>A port nobody listens on now, for a process that must come back at the same address.</summary>
    public static int FreePort() => LoopbackPorts.Free();

    /// <summary>Sends SIGTERM (what an orchestrator sends) and waits for the process to finish shutting down.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL: the process ends at once, with no chance to drain or deregister.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>The process's output so far, for assertion messages.</summary>
    public string Output() => $"--- {Name} (pid {Pid}) ---{Environment.NewLine}{string.Join(Environment.NewLine, _output)}";

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static string[] RegistrySetting(Uri registry) => [$"--Roster:Servers:0={registry.ToString().TrimEnd('/')}"];

    private static async Task<AppProcess> StartAsync(string name, string dll, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!, // where appsettings.json is
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        var app = new AppProcess(name, process);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data, listening);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data, listening);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            app.Address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            var output = app.Output();
            await app.DisposeAsync();
            throw new TimeoutException($"{name} did not start listening.{Environment.NewLine}{output}");
        }

        return app;
    }

    private void Keep(string? line, TaskCompletionSource<Uri> listening)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        if (line.IndexOf(ListeningMarker, StringComparison.Ordinal) is var at and >= 0)
        {
            listening.TrySetResult(new Uri(line[(at + ListeningMarker.Length)..].Trim()));
        }
    }

    private async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds} s.{Environment.NewLine}{Output()}");
        }
    }

    /// <summary>The built output of one of the repository's projects, in the configuration these tests were built in.</summary>
    private static string Built(string project, string dll)
    {
        // The tests run from tests/Roster.Client.Tests/bin/{Configuration}/{TargetFramework}/.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Roster.slnx")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root?.FullName ?? throw new InvalidOperationException("Roster.slnx not found above " + AppContext.BaseDirectory),
            project, "bin", configuration, framework, dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build Roster.slnx first.", path);
    }
}
