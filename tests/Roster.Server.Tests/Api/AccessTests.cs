using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Roster.Server.Tests.Api;

public sealed class AccessTests
{
    private static readonly object Body = new { address = "10.0.0.1", port = 80 };

    [Fact]
    public async Task Tokens_MissingIs401_WrongNamespaceOrReadOnlyIs403_AndNothingChanges()
    {
        await using var server = await RosterTestServer.StartAsync(
            true,
            "--Roster:Auth:Tokens:0:Token=writer-prod", "--Roster:Auth:Tokens:0:Namespaces:0=prod", "--Roster:Auth:Tokens:0:Write=true",
            "--Roster:Auth:Tokens:1:Token=reader-all", "--Roster:Auth:Tokens:1:Namespaces:0=*",
            "--Roster:Auth:Tokens:2:Token=writer-all", "--Roster:Auth:Tokens:2:Namespaces:0=*", "--Roster:Auth:Tokens:2:Write=true");

        async Task<(HttpStatusCode Status, string? Field)> PutAsync(string ns, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/v1/namespaces/{ns}/services/orders/instances/a1", UriKind.Relative))
            {
                Content = RosterTestServer.Json(Body),
            };
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await server.Client.SendAsync(request);
            var field = response.IsSuccessStatusCode ? null : (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString();
            return (response.StatusCode, field);
        }

        Assert.Equal((HttpStatusCode.Unauthorized, "Authorization"), await PutAsync("prod", null));
        Assert.Equal((HttpStatusCode.Unauthorized, "Authorization"), await PutAsync("prod", "guess"));
        Assert.Equal((HttpStatusCode.Forbidden, "namespace"), await PutAsync("staging", "writer-prod"));
        Assert.Equal((HttpStatusCode.Forbidden, "Authorization"), await PutAsync("prod", "reader-all"));
        Assert.Equal(0, (await server.GetJsonAsync("/api/v1/status")).GetProperty("revision").GetInt64());
        Assert.Equal((HttpStatusCode.Created, (string?)null), await PutAsync("prod", "writer-prod"));

        // Listing namespaces needs a token too, and shows only what the token may read.
        using (var anonymous = await server.Client.GetAsync(new Uri("/api/v1/namespaces", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, (await PutAsync("staging", "writer-all")).Status);
        using var list = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/namespaces", UriKind.Relative));
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "writer-prod");
        using var listed = await server.Client.SendAsync(list);
        var names = (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("namespaces").EnumerateArray().Select(n => n.GetProperty("name").GetString());
        Assert.Equal(["prod"], names);
    }

    [Fact]
    public async Task RateLimit_Exceeded_Is429WithRetryAfter()
    {
        await using var server = await RosterTestServer.StartAsync(true, "--Roster:RateLimit:PermitsPerSecond=3");

        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await server.RegisterAsync("prod", "orders", $"a{i}", Body);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
        }
    }
}

public sealed class StartupTests
{
    [Fact]
    public async Task InvalidNodeSettings_RefuseToStart_NamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => RosterTestServer.StartAsync(true, "--Roster:Node:SelfPreservationThreshold=2"));
        Assert.Contains("SelfPreservationThreshold", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A node started without tokens says at start that its API is open; one with tokens does not.</summary>
public sealed class OpenApiWarningTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ANodeWithoutTokens_WarnsAtStart_ThatItsApiIsOpen(bool withTokens)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Message)>();
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Roster:Storage:InMemory=true",
            .. withTokens ? (string[])["--Roster:Auth:Tokens:0:Token=t0", "--Roster:Auth:Tokens:0:Namespaces:0=*"] : [],
        ];
        await using var app = RosterServer.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new CapturingLoggerProvider(lines));
        });

        var warnings = lines.Where(l => l.Level == LogLevel.Warning && l.Message.Contains("the API is open", StringComparison.Ordinal)).ToList();
        Assert.Equal(withTokens ? 0 : 1, warnings.Count);
    }

    private sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<(LogLevel, string)> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<(LogLevel, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
