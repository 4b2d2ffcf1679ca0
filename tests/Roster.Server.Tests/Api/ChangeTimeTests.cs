using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Roster.Server.Tests.Api;

/// <summary>Each change a watcher receives says when the node accepted it, by the node's clock, and a restarted
/// node still says so for the changes it replays from its log (the console's timeline shows these times).</summary>
public sealed class ChangeTimeTests
{
    [Fact]
    public async Task WatchEvents_CarryTheTimeTheNodeAcceptedEachChange_AcrossARestart()
    {
        var time = new ManualTimeProvider();
        var registeredAt = time.GetUtcNow();
        await using var first = await RosterTestServer.StartAsync(false, time);
        using (var registered = await first.RegisterAsync("prod", "orders", "a1", new { address = "10.0.0.1", port = 8080, persistent = true }))
        {
            registered.EnsureSuccessStatusCode();
        }

        time.Advance(TimeSpan.FromSeconds(90.25));
        using (var drained = await first.Client.PatchAsync(
            new Uri("/api/v1/namespaces/prod/services/orders/instances/a1", UriKind.Relative), RosterTestServer.Json(new { drained = true })))
        {
            drained.EnsureSuccessStatusCode();
        }

        await using var restarted = await first.StartAgainAsync();
        await restarted.WaitReadyAsync();

        var times = await ReadChangeTimesAsync(restarted.Client, count: 2);

        Assert.Equal(
            [Truncated(registeredAt), Truncated(registeredAt + TimeSpan.FromSeconds(90.25))],
            times);
    }

    private static DateTimeOffset Truncated(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    private static async Task<List<DateTimeOffset>> ReadChangeTimesAsync(HttpClient client, int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await client.GetAsync(
            new Uri("/api/v1/namespaces/prod/watch?since=0", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
        var times = new List<DateTimeOffset>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(deadline.Token))
        {
            Assert.NotEqual("reset", item.EventType);
            if (item.EventType is "upsert" or "delete")
            {
                using var data = JsonDocument.Parse(item.Data);
                times.Add(data.RootElement.GetProperty("time").GetDateTimeOffset());
                if (times.Count == count)
                {
                    break;
                }
            }
        }

        return times;
    }
}
