using System.Text.Json;
using Roster.Cli;

namespace Roster.Server.Tests.Cli;

/// <summary>Each CLI command against a live node, as a user would run it.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private RosterTestServer _server = null!;

    public async Task InitializeAsync() => _server = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await RosterCommandLine.RunAsync([.. args, "--server", _server.Address.ToString()], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task DebugDump_WritesTheNodesDebugStateIntoAnArchive()
    {
        var file = Path.Combine(Path.GetTempPath(), $"roster-dump-{Guid.NewGuid():N}.zip");
        try
        {
            var dump = await RunAsync("debug", "dump", "-f", file);

            Assert.Equal(0, dump.Exit);
            Assert.Contains("debug.json", dump.Output, StringComparison.Ordinal);
            await using var archive = await System.IO.Compression.ZipFile.OpenReadAsync(file, CancellationToken.None);
            await using var entry = await archive.GetEntry("debug.json")!.OpenAsync(CancellationToken.None);
            using var debug = await JsonDocument.ParseAsync(entry);
            Assert.Contains(debug.RootElement.GetProperty("loops").EnumerateArray(), loop => loop.GetProperty("name").GetString() == "applier");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Register_Services_Instances_Drain_Undrain_Deregister_Work_AsTablesAndJson()
    {
        var register = await RunAsync("register", "orders", "a1", "--address", "10.0.0.7", "--port", "8080", "-m", "team=shop", "--zone", "z1", "-n", "prod");
        Assert.Equal(0, register.Exit);
        Assert.Contains("registered orders/a1 at 10.0.0.7:8080", register.Output, StringComparison.Ordinal);

        var services = await RunAsync("services", "-n", "prod");
        Assert.Equal(0, services.Exit);
        Assert.Matches(@"SERVICE\s+INSTANCES\s+SEQUENCE\s+DIGEST\norders\s+1\s+1\s+[0-9a-f]{16}", services.Output);

        var drain = await RunAsync("drain", "orders", "a1", "-n", "prod");
        Assert.Equal(0, drain.Exit);
        Assert.Contains("state drained", drain.Output, StringComparison.Ordinal);

        var instances = await RunAsync("instances", "orders", "-n", "prod");
        Assert.Matches(@"a1\s+10\.0\.0\.7\s+8080\s+z1\s+0\s+drained\s+1", instances.Output);

        var json = await RunAsync("instances", "orders", "-n", "prod", "--json");
        var parsed = JsonDocument.Parse(json.Output).RootElement;
        Assert.Equal("shop", parsed.GetProperty("instances")[0].GetProperty("metadata").GetProperty("team").GetString());
        Assert.True(parsed.GetProperty("instances")[0].GetProperty("persistent").GetBoolean());

        Assert.Contains("state up", (await RunAsync("undrain", "orders", "a1", "-n", "prod")).Output, StringComparison.Ordinal);

        var deregister = await RunAsync("deregister", "orders", "a1", "-n", "prod");
        Assert.Equal((0, "deregistered orders/a1"), (deregister.Exit, deregister.Output.Trim()));
        Assert.Contains("(none)", (await RunAsync("instances", "orders", "-n", "prod")).Output, StringComparison.Ordinal);

        // The audit tells the same story: register, drain, undrain, deregister, each by the anonymous caller from here.
        var audit = await RunAsync("audit", "-n", "prod", "--service", "orders");
        Assert.Equal(0, audit.Exit);
        var lines = audit.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^REVISION\s+TIME\s+SERVICE\s+ID\s+ACTION\s+PRINCIPAL\s+CLIENT\s+NODE", lines[0]);
        Assert.Collection(
            lines[1..],
            l => Assert.Matches(@"orders\s+a1\s+register\s+anonymous\s+127\.0\.0\.1\s+[0-9a-f]{32}", l),
            l => Assert.Matches(@"orders\s+a1\s+operator \(drained, weight 0\)\s+anonymous", l),
            l => Assert.Matches(@"orders\s+a1\s+operator \(up, weight 100\)\s+anonymous", l),
            l => Assert.Matches(@"orders\s+a1\s+deregister\s+anonymous", l));
    }

    [Fact]
    public async Task Status_ShowsRegistryIdRevisionAndReadiness()
    {
        var status = await RunAsync("status");
        Assert.Equal(0, status.Exit);
        Assert.Matches(@"registryId\s+[0-9a-f]{32}", status.Output);
        Assert.Matches(@"ready\s+true", status.Output);

        var json = JsonDocument.Parse((await RunAsync("status", "--json")).Output).RootElement;
        Assert.True(json.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Watch_PrintsTheListThenEachChange()
    {
        await RunAsync("register", "orders", "a1", "--address", "10.0.0.7", "--port", "8080");
        var watching = RunAsync("watch", "orders", "--max-events", "3");
        await Eventually.TrueAsync(async () => (await _server.GetJsonAsync("/api/v1/status")).GetProperty("watchers").GetInt32() == 1, "the watch is open");
        await RunAsync("register", "orders", "a2", "--address", "10.0.0.8", "--port", "8080");
        await RunAsync("deregister", "orders", "a1");

        var watch = await watching.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, watch.Exit);
        var lines = watch.Output.Trim().Split('\n');
        Assert.Matches(@"^\d+ reset orders: 1 instances$", lines[0]);
        Assert.Matches(@"^\d+ upsert orders/a2 10\.0\.0\.8:8080 up$", lines[1]);
        Assert.Matches(@"^\d+ delete orders/a1 \(deregistered\)$", lines[2]);
    }

    [Fact]
    public async Task RefusedRequest_PrintsTheProblem_AndExits1()
    {
        var result = await RunAsync("register", "orders", "a1", "--address", "10.0.0.7", "--port", "70000");
        Assert.Equal(1, result.Exit);
        Assert.Contains("400 Bad Request: port must be between 1 and 65535. (field: port)", result.Error, StringComparison.Ordinal);

        var missing = await RunAsync("deregister", "orders", "nobody");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("404", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableNode_SaysSo_AndExits2()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        // A port nothing listens on: bind one, note it, close it.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        foreach (var command in new[] { "status", "services", "instances orders", "watch orders", "drain orders a1", "deregister orders a1" })
        {
            var exit = await RosterCommandLine.RunAsync([.. command.Split(' '), "--server", $"http://127.0.0.1:{port}"], output, error);
            Assert.Equal(2, exit);
        }

        Assert.Contains($"cannot reach Roster at http://127.0.0.1:{port}/", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadArguments_Exit3()
    {
        Assert.Equal(3, (await RunAsync("register", "orders", "a1", "--port", "80")).Exit);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(3, await RosterCommandLine.RunAsync(["status", "--server", "ftp://x"], output, error));
    }

    [Fact]
    public async Task Output_PrintsTablesJsonOrOneJsonObjectPerLine()
    {
        await RunAsync("register", "orders", "a1", "--address", "10.0.0.7", "--port", "8080");
        await RunAsync("register", "orders", "a2", "--address", "10.0.0.8", "--port", "8080");

        var ndjson = await RunAsync("instances", "orders", "-o", "ndjson");
        Assert.Equal(0, ndjson.Exit);
        var lines = ndjson.Output.Trim().Split('\n');
        Assert.Equal(["a1", "a2"], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()).Order());

        var json = await RunAsync("instances", "orders", "--output", "json");
        Assert.Equal(2, JsonDocument.Parse(json.Output).RootElement.GetProperty("instances").GetArrayLength());
        Assert.Equal(json.Output, (await RunAsync("instances", "orders", "--json")).Output);

        var status = (await RunAsync("status", "-o", "ndjson")).Output.Trim();
        Assert.DoesNotContain('\n', status);
        Assert.True(JsonDocument.Parse(status).RootElement.GetProperty("ready").GetBoolean());

        Assert.Matches(@"ID\s+ADDRESS", (await RunAsync("instances", "orders", "-o", "table")).Output);
        Assert.Equal(3, (await RunAsync("instances", "orders", "-o", "yaml")).Exit);
    }

    [Fact]
    public async Task WatchExec_RunsTheCommandWithTheNewListAfterEachChange()
    {
        var directory = Directory.CreateTempSubdirectory("roster-watch-exec-").FullName;
        try
        {
            await RunAsync("register", "orders", "a1", "--address", "10.0.0.7", "--port", "8080");
            var watching = RunAsync("watch", "orders", "--max-events", "3", "--exec", $"cat > {directory}/list-$ROSTER_REVISION.json");
            await Eventually.TrueAsync(() => Directory.GetFiles(directory).Length == 1, "the command ran with the first list");
            await RunAsync("register", "orders", "a2", "--address", "10.0.0.8", "--port", "8080");
            await RunAsync("deregister", "orders", "a1");
            Assert.Equal(0, (await watching.WaitAsync(TimeSpan.FromSeconds(20))).Exit);

            var lists = Directory.GetFiles(directory)
                .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
                .OrderBy(l => l.GetProperty("revision").GetInt64())
                .Select(l => string.Join(',', l.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString())))
                .ToList();
            Assert.Equal(["a1", "a1,a2", "a2"], lists);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Completion_ScriptsCompleteCommandsAndTheirOptions()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, await RosterCommandLine.RunAsync(["completion", "bash"], output, error));
        var script = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(script, output.ToString());
            Assert.Equal("status", await CompleteAsync(script, "roster sta", 1));
            Assert.Equal("--server", await CompleteAsync(script, "roster status --ser", 2));
            Assert.Equal("ndjson", await CompleteAsync(script, "roster services -o nd", 3));
        }
        finally
        {
            File.Delete(script);
        }

        using var fish = new StringWriter();
        Assert.Equal(0, await RosterCommandLine.RunAsync(["completion", "fish"], fish, error));
        Assert.Contains("complete -c roster -n \"__fish_seen_subcommand_from watch\" -l exec", fish.ToString(), StringComparison.Ordinal);
        using var zsh = new StringWriter();
        Assert.Equal(0, await RosterCommandLine.RunAsync(["completion", "zsh"], zsh, error));
        Assert.StartsWith("#compdef roster", zsh.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, await RosterCommandLine.RunAsync(["completion", "powershell"], fish, error));
    }

    /// <summary>What bash's completion offers for <paramref name="line"/> with the cursor on word <paramref name="word"/>.</summary>
    private static async Task<string> CompleteAsync(string script, string line, int word)
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"source {script}; COMP_WORDS=({line}); COMP_CWORD={word}; _roster; echo \"${{COMPREPLY[*]}}\"");
        using var bash = System.Diagnostics.Process.Start(start)!;
        var answer = await bash.StandardOutput.ReadToEndAsync();
        await bash.WaitForExitAsync();
        Assert.True(bash.ExitCode == 0, await bash.StandardError.ReadToEndAsync());
        return answer.Trim();
    }
}
