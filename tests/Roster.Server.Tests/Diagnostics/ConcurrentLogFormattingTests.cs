using System.Collections;
using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Reflection;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Roster.Server.Tests.Diagnostics;

/// <summary>
/// Seed 004 in .NET terms. A Go service crashed while logging a request's context: the logger printed a map that the
/// HTTP server kept changing on another goroutine. Here a logging provider does what the riskiest real ones do (an
/// asynchronous sink): it keeps references to each entry's state and scopes and formats them later on its own thread,
/// walking every value and every collection inside, while the node handles registrations, renewals, drains, watches
/// and bad requests at every log level. Nothing it formats may change underneath it: every value Roster logs is
/// immutable, which a reflection check over every <see cref="LoggerMessageAttribute"/> method also proves for the
/// messages load does not reach.
/// </summary>
public sealed class ConcurrentLogFormattingTests(ITestOutputHelper output)
{
    private static readonly Type[] ImmutableTypes =
    [
        typeof(string), typeof(bool), typeof(char), typeof(byte), typeof(sbyte), typeof(short), typeof(ushort), typeof(int), typeof(uint),
        typeof(long), typeof(ulong), typeof(float), typeof(double), typeof(decimal), typeof(DateTime), typeof(DateTimeOffset), typeof(TimeSpan),
        typeof(Guid), typeof(Uri), typeof(Version),
    ];

    [Fact]
    public void EveryLoggerMessage_TakesOnlyImmutableValues()
    {
        var assemblies = new[] { typeof(RosterServer).Assembly, typeof(Core.Node.RegistryNode).Assembly, typeof(Roster.Cluster.BusOptions).Assembly };
        var messages = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LoggerMessageAttribute>() is not null)
            .ToList();

        var mutable = messages
            .SelectMany(m => m.GetParameters().Select(p => (Method: m, Parameter: p)))
            .Where(x => !typeof(ILogger).IsAssignableFrom(x.Parameter.ParameterType) && !typeof(Exception).IsAssignableFrom(x.Parameter.ParameterType))
            .Where(x => !IsImmutable(Nullable.GetUnderlyingType(x.Parameter.ParameterType) ?? x.Parameter.ParameterType))
            .Select(x => $"{x.Method.DeclaringType!.Name}.{x.Method.Name}({x.Parameter.ParameterType.Name} {x.Parameter.Name})")
            .ToList();

        output.WriteLine($"{messages.Count} logger messages checked");
        Assert.True(messages.Count > 30, $"only {messages.Count} logger messages found");
        Assert.Empty(mutable);
    }

    [Fact]
    public async Task FormattingStateAndScopesOnAnotherThread_WhileTheNodeIsBusy_NeverSeesAValueChange()
    {
        var sink = new DeferredFormattingSink();
        string[] args = ["--urls=http://127.0.0.1:0", "--Roster:Storage:InMemory=true"];
        await using var app = RosterServer.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(sink);

            // Every level of every category for this sink, including those the node turns down by default.
            builder.Logging.AddFilter<DeferredFormattingSink>(null, LogLevel.Trace);
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        var formatting = Task.Run(sink.FormatAll);
        try
        {
            // Many short connections (each opens and closes, changing what the server keeps per connection), watches
            // opened and dropped, good and bad writes, all at once.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
            {
                for (var round = 0; round < 40; round++)
                {
                    using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
                    var id = $"w{worker}-{round % 5}";
                    using (var put = await client.PutAsJsonAsync($"/api/v1/namespaces/prod/services/orders/instances/{id}", new { address = "10.0.0.1", port = 1000 + round, metadata = new { round = $"{round}" } }))
                    {
                        put.EnsureSuccessStatusCode();
                    }

                    using (await client.PatchAsJsonAsync($"/api/v1/namespaces/prod/services/orders/instances/{id}", new { drained = round % 2 == 0 }))
                    using (await client.PostAsJsonAsync("/api/v1/leases/renew", new { leases = new[] { new { @namespace = "prod", service = "orders", id, incarnation = 1 } } }))
                    using (await client.PutAsync(new Uri("/api/v1/namespaces/Bad Name/services/x/instances/y", UriKind.Relative), new StringContent("{")))
                    using (await client.GetAsync(new Uri("/api/v1/namespaces/prod/services/orders", UriKind.Relative)))
                    using (var watch = await client.GetAsync(new Uri("/api/v1/namespaces/prod/watch?since=1", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
                    {
                        watch.EnsureSuccessStatusCode();
                    }

                    if (round % 5 == 4)
                    {
                        using var deleted = await client.DeleteAsync(new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative));
                    }
                }
            })));
        }
        finally
        {
            sink.Complete();
            await formatting;
            await app.StopAsync();
            foreach (var error in sink.Errors.Take(3))
            {
                output.WriteLine(error);
            }
        }

        output.WriteLine($"{sink.Formatted:N0} entries formatted on another thread ({sink.RosterEntries:N0} from Roster), {sink.ValuesWalked:N0} values walked");
        Assert.Empty(sink.Failures);
        Assert.Empty(sink.Errors);
        Assert.True(sink.Formatted > 1000, $"only {sink.Formatted} entries");
        Assert.True(sink.RosterEntries > 0, "no entry from Roster's own categories");
        Assert.Empty(sink.MutableRosterValues);
    }

    /// <summary>
    /// A primitive-like immutable type, an enum, or a sealed type (such as a positional record) whose every field, its
    /// base types' too, is read-only and itself of an immutable type.
    /// </summary>
    private static bool IsImmutable(Type type) => IsImmutable(type, []);

    private static bool IsImmutable(Type type, HashSet<Type> visiting)
    {
        if (type.IsEnum || ImmutableTypes.Contains(type))
        {
            return true;
        }

        if (!(type.IsValueType || type.IsSealed) || type.IsArray || !visiting.Add(type))
        {
            return false;
        }

        for (var current = type; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
        {
            foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!field.IsInitOnly || !IsImmutable(field.FieldType, visiting))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Keeps each entry's state object and scope objects as they are (no copy) and formats them on one other thread:
    /// the message, every key/value pair, and every element of any collection value, recursively.
    /// </summary>
    private sealed class DeferredFormattingSink : ILoggerProvider, ISupportExternalScope
    {
        private readonly Channel<Entry> _entries = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<string> Failures { get; } = new();

        /// <summary>Errors the node logged with an exception (none are expected).</summary>
        public ConcurrentQueue<string> Errors { get; } = new();

        public ConcurrentDictionary<string, byte> MutableRosterValues { get; } = new();

        public long Formatted { get; private set; }

        public long RosterEntries { get; private set; }

        public long ValuesWalked { get; private set; }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Complete() => _entries.Writer.TryComplete();

        public void Dispose() => Complete();

        public async Task FormatAll()
        {
            await foreach (var entry in _entries.Reader.ReadAllAsync())
            {
                try
                {
                    _ = entry.Format();
                    var roster = entry.Category.StartsWith("Roster", StringComparison.Ordinal);
                    foreach (var item in entry.Scopes.Prepend(entry.State))
                    {
                        Walk(item, roster ? $"{entry.Category}" : null, depth: 0);
                    }

                    Formatted++;
                    RosterEntries += roster ? 1 : 0;
                }
                catch (Exception ex)
                {
                    Failures.Enqueue($"{entry.Category}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        private void Walk(object? value, string? rosterCategory, int depth)
        {
            ValuesWalked++;
            _ = value?.ToString();
            if (value is null or string || depth > 4)
            {
                return;
            }

            if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, inner) in pairs)
                {
                    if (rosterCategory is not null && key != "{OriginalFormat}" && inner is not null && !IsImmutable(inner.GetType()))
                    {
                        MutableRosterValues.TryAdd($"{rosterCategory}: {key} is a {inner.GetType().Name}", 0);
                    }

                    Walk(inner, null, depth + 1);
                }
            }
            else if (value is IEnumerable sequence)
            {
                foreach (var inner in sequence)
                {
                    Walk(inner, null, depth + 1);
                }
            }
        }

        private sealed class Logger(DeferredFormattingSink sink, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => sink._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (exception is not null && logLevel >= LogLevel.Error)
                {
                    sink.Errors.Enqueue($"{category}: {exception}");
                }

                var scopes = new List<object?>();
                sink._scopes.ForEachScope((scope, list) => list.Add(scope), scopes);
                sink._entries.Writer.TryWrite(new Entry(category, state, scopes, () => formatter(state, exception)));
            }
        }

        private sealed record Entry(string Category, object? State, List<object?> Scopes, Func<string> Format);
    }
}
