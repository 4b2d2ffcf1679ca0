using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Text.Json;
using Roster.Cli;
using Roster.Server.Tests.Support;
using Xunit.Abstractions;

namespace Roster.Server.Tests.Cli;

/// <summary>
/// <c>roster debug dump --pid</c> against a real <c>roster serve</c> process under writes: in a few seconds, without
/// stopping it, an archive with the node's debug state and the managed stacks of its threads, where its loops are
/// (the log's writer thread, the async loops waiting).
/// </summary>
[Collection(MeasuredProcesses.Name)]
public sealed class DebugDumpProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roster-dump-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ADumpOfABusyNode_HasItsDebugStateAndTheStacksOfItsLoops_WithinTenSeconds()
    {
        await using var roster = await RosterProcess.StartAsync(Path.Combine(_directory, "data"));
        using var writing = new CancellationTokenSource();
        var writes = Task.Run(async () =>
        {
            for (var i = 0; !writing.IsCancellationRequested; i++)
            {
                using var put = await roster.Client.PutAsJsonAsync($"/api/v1/namespaces/prod/services/orders/instances/i{i % 500}", new { address = "10.0.0.1", port = 1 + (i % 60000) });
                put.EnsureSuccessStatusCode();
            }
        });

        var file = Path.Combine(_directory, "node.zip");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var clock = Stopwatch.StartNew();
        var exit = await RosterCommandLine.RunAsync(["debug", "dump", "--pid", roster.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-f", file, "--server", roster.Address.ToString()], stdout, stderr);
        var took = clock.Elapsed;
        await writing.CancelAsync();
        await writes;

        output.WriteLine($"dump taken in {took.TotalSeconds:N1} s: {stdout}{stderr}");
        Assert.Equal(0, exit);
        Assert.True(took < TimeSpan.FromSeconds(10), $"the dump took {took.TotalSeconds:N1} s");
        await using var archive = await ZipFile.OpenReadAsync(file, CancellationToken.None);
        if (archive.GetEntry("problems.txt") is { } problems)
        {
            await using var problemsEntry = await problems.OpenAsync(CancellationToken.None);
            Assert.Fail("the dump has problems: " + await new StreamReader(problemsEntry).ReadToEndAsync());
        }

        await using (var debugEntry = await archive.GetEntry("debug.json")!.OpenAsync(CancellationToken.None))
        {
            using var debug = await JsonDocument.ParseAsync(debugEntry);
            Assert.All(debug.RootElement.GetProperty("loops").EnumerateArray().Where(l => l.GetProperty("name").GetString() != "catch-up"),
                loop => Assert.Equal("running", loop.GetProperty("state").GetString()));
        }

        await using var stacksEntry = await archive.GetEntry("stacks.txt")!.OpenAsync(CancellationToken.None);
        var stacks = await new StreamReader(stacksEntry).ReadToEndAsync();
        output.WriteLine(stacks[stacks.IndexOf("Async operations", StringComparison.Ordinal)..]);
        Assert.Contains("FileChangeLog.RunWriter", stacks, StringComparison.Ordinal);
        Assert.Matches(@"\d+ × Roster\.Core\.Node\.RegistryNode\+<RunApplierAsync>", stacks);
        Assert.Matches(@"\d+ × Roster\.Core\.Node\.RegistryNode\+<RunExpiryAsync>", stacks);

        // The node went on serving: it was paused only while the dump was written.
        using var status = await roster.Client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.True(status.IsSuccessStatusCode);
    }
}
