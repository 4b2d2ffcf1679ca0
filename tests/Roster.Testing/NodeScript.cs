using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace Roster.Testing;

/// <summary>A Node.js script of the compatibility tests' clients (<c>tests/Roster.Compat.Tests/clients</c>) whose standard
/// output is JSON lines with a <c>step</c>; stopped by its PID when disposed.</summary>
public sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _errors = [];

    private NodeScript(Process process) => _process = process;

    /// <summary>The scripts and their node_modules (eng/install-node-clients.sh) stay in the source tree, found from the
    /// test's output folder.</summary>
    public static string ClientsDirectory { get; } = FindUp(Path.Combine("tests", "Roster.Compat.Tests", "clients"));

    /// <summary>Starts <c>node <paramref name="script"/> <paramref name="args"/></c> in <see cref="ClientsDirectory"/>.</summary>
    public static NodeScript Start(string script, params string[] args)
    {
        var directory = ClientsDirectory;
        if (!File.Exists(Path.Combine(directory, "node_modules", "consul", "package.json")))
        {
            throw new InvalidOperationException($"The npm clients are not installed in {directory}; ./eng/install-node-clients.sh installs them.");
        }

        return Start(directory, script, args);
    }

    /// <summary>Starts <c>node <paramref name="path"/> <paramref name="args"/></c>: a script that needs no npm package.</summary>
    public static NodeScript StartFile(string path, params string[] args) => Start(Path.GetDirectoryName(Path.GetFullPath(path))!, path, args);

    private static NodeScript Start(string directory, string script, string[] args)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        var node = new NodeScript(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                node._lines.Writer.TryWrite(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (node._errors)
            {
                node._errors.Add(e.Data ?? string.Empty);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>The next line (of <paramref name="step"/>, skipping others when given), within the deadline.</summary>
    public async Task<JsonElement> NextAsync(string? step = null, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                var line = JsonDocument.Parse(await _lines.Reader.ReadAsync(deadline.Token)).RootElement;
                var said = line.GetProperty("step").GetString();
                if (said is "error" or "failed")
                {
                    throw new InvalidOperationException($"The client said: {line}");
                }

                if (step is null || said == step)
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException)
        {
            lock (_errors)
            {
                throw new TimeoutException($"The client said nothing{(step is null ? string.Empty : " of " + step)} in time; its errors: {string.Join('\n', _errors)}");
            }
        }
    }

    private static string FindUp(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (Directory.Exists(Path.Combine(directory.FullName, relative)))
            {
                return Path.Combine(directory.FullName, relative);
            }
        }

        throw new DirectoryNotFoundException($"{relative} is not above {AppContext.BaseDirectory}.");
    }

    public async Task SendAsync(string line) => await _process.StandardInput.WriteLineAsync(line);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
