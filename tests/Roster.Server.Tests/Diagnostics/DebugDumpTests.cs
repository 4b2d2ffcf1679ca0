using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Server.Hosting;

namespace Roster.Server.Tests.Diagnostics;

/// <summary>
/// <c>GET /api/v1/debug</c>: the node's loops with their progress, queues, counts, runtime figures, configuration
/// without secrets and last log lines, for an admin token only; and a loop that faults shows as faulted there while
/// <c>/readyz</c> and <c>/healthz</c> answer 503.
/// </summary>
public sealed class DebugDumpTests
{
    private static readonly string[] Settings =
    [
        "--urls=http://127.0.0.1:0",
        "--Roster:Storage:InMemory=true",
        "--Roster:Auth:Tokens:0:Token=admin-secret-1", "--Roster:Auth:Tokens:0:Name=ops", "--Roster:Auth:Tokens:0:Namespaces:0=*",
        "--Roster:Auth:Tokens:0:Write=true", "--Roster:Auth:Tokens:0:Admin=true",
        "--Roster:Auth:Tokens:1:Token=writer-secret-2", "--Roster:Auth:Tokens:1:Namespaces:0=*", "--Roster:Auth:Tokens:1:Write=true",
        "--Roster:Cluster:Brokers:0=amqp://roster:bus-password@127.0.0.1:5672",
    ];

    [Fact]
    public async Task AnAdminToken_ReadsTheLoops_Queues_Runtime_ConfigurationWithoutSecrets_AndTheLastLogLines()
    {
        // Not a cluster: the broker setting is only there to be shown without its password.
        await using var app = RosterServer.Build(Settings.Where(s => !s.StartsWith("--Roster:Cluster", StringComparison.Ordinal)).Append("--Roster:Limits:MaxWeight=12345").ToArray());
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        await app.Services.GetRequiredService<RegistryNodeHost>().Node.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
        using (var put = new HttpRequestMessage(HttpMethod.Put, "/api/v1/namespaces/prod/services/orders/instances/a1") { Content = RosterTestServer.Json(new { address = "10.0.0.1", port = 80 }) })
        {
            put.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "writer-secret-2");
            (await client.SendAsync(put)).EnsureSuccessStatusCode();
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(client, null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(client, "writer-secret-2")).Status);
        var (status, text) = await GetAsync(client, "admin-secret-1");
        Assert.Equal(HttpStatusCode.OK, status);

        using var dump = JsonDocument.Parse(text);
        var root = dump.RootElement;
        var loops = root.GetProperty("loops").EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!, l => l);
        Assert.All(["applier", "appender", "expiry", "keep-alive"], name => Assert.Equal("running", loops[name].GetProperty("state").GetString()));
        Assert.Equal("not-started", loops["catch-up"].GetProperty("state").GetString());
        Assert.True(loops["applier"].TryGetProperty("lastProgress", out _), "the applier applied the registration");
        Assert.Equal((1, 1, 0), (root.GetProperty("instances").GetInt32(), root.GetProperty("leases").GetInt32(), root.GetProperty("pendingWrites").GetInt32()));
        Assert.True(root.GetProperty("threadPool").GetProperty("threads").GetInt32() > 0);
        Assert.True(root.GetProperty("gc").GetProperty("heapBytes").GetInt64() > 0);

        var configuration = root.GetProperty("configuration");
        Assert.Equal("(redacted)", configuration.GetProperty("Roster:Auth:Tokens:0:Token").GetString());
        Assert.Equal("12345", configuration.GetProperty("Roster:Limits:MaxWeight").GetString());
        Assert.DoesNotContain("secret-", text, StringComparison.Ordinal);
        Assert.Contains(root.GetProperty("log").EnumerateArray(), line => line.GetString()!.Contains("ready", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void BrokerPasswords_AreNotShown()
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(Settings).Build();

        var shown = Roster.Server.Api.DebugEndpoints.EffectiveConfiguration(configuration).ToDictionary();

        Assert.Equal("amqp://roster:***@127.0.0.1:5672", shown["Roster:Cluster:Brokers:0"]);
        Assert.Equal("(redacted)", shown["Roster:Auth:Tokens:1:Token"]);
    }

    [Fact]
    public async Task ALoopThatFaults_ShowsFaulted_AndTheNodeIsNeitherReadyNorHealthy()
    {
        await using var server = await RosterTestServer.StartAsync(inMemory: true);
        var node = server.Services.GetRequiredService<RegistryNodeHost>().Node;

        // A change the applier cannot apply (a command it does not know) stops the applier loop.
        await node.Log.AppendAsync([new ChangeEnvelope(node.NodeId, 0, new UnknownChange(new InstanceKey("prod", "orders", "x")), AcceptedAt: 0)], CancellationToken.None);

        await Eventually.TrueAsync(async () => (await server.Client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable, "readyz fails");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        var (status, text) = await GetAsync(server.Client, null);
        Assert.Equal(HttpStatusCode.OK, status);
        using var dump = JsonDocument.Parse(text);
        var applier = dump.RootElement.GetProperty("loops").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "applier");
        Assert.Equal("faulted", applier.GetProperty("state").GetString());
        Assert.Contains("UnknownChange", applier.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("applier", dump.RootElement.GetProperty("fault").GetString(), StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Text)> GetAsync(HttpClient client, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/debug");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed record UnknownChange(InstanceKey Key) : Change(Key);
}
