using System.Diagnostics;
using System.Text.Json;

namespace Roster.Server.Tests.Cli;

/// <summary>
/// The CLI as people get it: packed as a .NET tool, installed with <c>dotnet tool install</c> from a local
/// folder feed (and nothing else: a package of that name elsewhere must not win), and run against a live
/// node named by <c>ROSTER_SERVER</c>.
/// </summary>
public sealed class ToolInstallTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roster-tool-").FullName;
    private RosterTestServer _server = null!;

    public async Task InitializeAsync() => _server = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Dotnet_tool_install_from_a_local_feed_gives_a_roster_command_that_reads_ROSTER_SERVER()
    {
        var feed = Path.Combine(_directory, "feed");
        var tools = Path.Combine(_directory, "tools");
        var config = Path.Combine(_directory, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        await RunAsync("dotnet", ["pack", Path.Combine(RepositoryRoot(), "src", "Roster"), "-c", Configuration, "--no-build", "-o", feed, "-p:Version=0.0.1-test"]);
        await RunAsync("dotnet", ["tool", "install", "roster", "--tool-path", tools, "--configfile", config, "--version", "0.0.1-test"]);

        var status = await RunAsync(Path.Combine(tools, "roster"), ["status", "-o", "json"], ("ROSTER_SERVER", _server.Address.ToString()));
        using var answer = JsonDocument.Parse(status);
        Assert.True(answer.RootElement.GetProperty("ready").GetBoolean());
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Roster.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Roster.slnx not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> RunAsync(string program, string[] arguments, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        return await output;
    }
}
