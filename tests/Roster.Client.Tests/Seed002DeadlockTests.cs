using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roster.Client.Tests;

/// <summary>
/// Seed 002: a configuration change made a client library take its write lock while request handlers
/// held (and took again) its read lock, and every instance deadlocked. Here the configuration reloads
/// hundreds of times, and the endpoint list is replaced, while requests are in flight and subscriber
/// callbacks run, some of which reload the configuration themselves. The test has a deadline. The SDK
/// also holds no lock at all, which the second test checks in its compiled code.
/// </summary>
public sealed class Seed002DeadlockTests : IAsyncLifetime
{
    private static readonly LoadBalancingPolicy[] Policies =
        [LoadBalancingPolicy.RoundRobin, LoadBalancingPolicy.WeightedRandom, LoadBalancingPolicy.PowerOfTwoChoices, LoadBalancingPolicy.ConsistentHash];

    private readonly List<WebApplication> _providers = [];
    private RosterTestServer _registry = null!;

    public async Task InitializeAsync() => _registry = await RosterTestServer.StartAsync(inMemory: true);

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task Reloading_options_and_replacing_endpoints_under_requests_and_callbacks_never_deadlocks()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ports = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            ports.Add(await StartProviderAsync());
            await RegisterAsync($"orders-{i}", ports[i]);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Roster:Servers:0"] = _registry.Address.ToString(),
            ["Roster:Discovery:Namespace"] = "prod",
            ["Roster:Discovery:LoadBalancing:Policy"] = nameof(LoadBalancingPolicy.RoundRobin),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRoster(configuration.GetSection("Roster")).AddDiscovery();
        services.AddHttpClient("orders", c => c.BaseAddress = new Uri("http://orders")).AddRosterDiscovery();
        await using var consumer = services.BuildServiceProvider();
        var discovery = consumer.GetRequiredService<RosterDiscovery>();
        var balancer = consumer.GetRequiredService<RosterLoadBalancer>();
        var http = consumer.GetRequiredService<IHttpClientFactory>().CreateClient("orders");
        await discovery.GetEndpointsAsync("orders", deadline.Token);

        var reloads = 0;
        void Reload()
        {
            // Every reload changes the policy and the attempts per request: each one reaches the balancer.
            var n = Interlocked.Increment(ref reloads);
            configuration["Roster:Discovery:LoadBalancing:Policy"] = Policies[n % Policies.Length].ToString();
            configuration["Roster:Discovery:MaxAttemptsPerRequest"] = (2 + (n % 3)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            configuration.Reload();
        }

        var failures = new ConcurrentQueue<string>();
        var answered = 0;
        var callbacks = 0;
        using var stopRequests = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var requesters = Enumerable.Range(0, 8).Select(r => Task.Run(async () =>
        {
            for (var n = 0; !stopRequests.IsCancellationRequested; n++)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"/work/{r}-{n}").WithHashKey($"key-{n % 50}");
                    using var response = await http.SendAsync(request, deadline.Token);
                    if (!response.IsSuccessStatusCode)
                    {
                        failures.Enqueue($"{(int)response.StatusCode}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !deadline.IsCancellationRequested)
                {
                    failures.Enqueue(e.Message);
                }

                Interlocked.Increment(ref answered);
            }
        })).ToArray();

        // Subscribers whose callbacks use the SDK again (resolve, choose, describe) and, now and then,
        // reload the configuration from inside the callback: the re-entrant path of seed 002.
        var callbackErrors = new ConcurrentQueue<Exception>();
        var subscriptions = Enumerable.Range(0, 4).Select(s => discovery.Subscribe("orders", list =>
        {
            try
            {
                var n = Interlocked.Increment(ref callbacks);
                if (discovery.TryGetEndpoints("orders", out var current) && balancer.TryPick(current, out var lease))
                {
                    lease.Complete(RequestOutcome.Success);
                }

                _ = balancer.Describe(list);
                if (n % 7 == 0)
                {
                    Reload();
                }
            }
#pragma warning disable CA1031 // Collected and asserted below.
            catch (Exception e)
#pragma warning restore CA1031
            {
                callbackErrors.Enqueue(e);
            }
        })).ToList();

        var reloader = Task.Run(() =>
        {
            for (var i = 0; i < 300 && !deadline.IsCancellationRequested; i++)
            {
                Reload();
                Thread.Yield();
            }
        });

        // Endpoints replaced: extra registrations (at live providers) come and go, weights change.
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 150; i++)
            {
                var id = $"extra-{i % 5}";
                if (i % 2 == 0)
                {
                    await RegisterAsync(id, ports[i % ports.Count], weight: 1 + (i % 200));
                }
                else
                {
                    using var removed = await _registry.Client.DeleteAsync(new Uri($"/api/v1/namespaces/prod/services/orders/instances/{id}", UriKind.Relative), deadline.Token);
                }
            }
        });

        await Task.WhenAll(reloader, writer).WaitAsync(deadline.Token);

        // Still making progress after the storm: requests complete and lists follow the registry.
        var afterStorm = Volatile.Read(ref answered);
        await Eventually.TrueAsync(() => Volatile.Read(ref answered) >= afterStorm + 500, "500 more requests were answered after the reloads", TimeSpan.FromSeconds(30));
        await stopRequests.CancelAsync();
        await Task.WhenAll(requesters).WaitAsync(deadline.Token);

        var expected = (await _registry.GetJsonAsync("/api/v1/namespaces/prod/services/orders")).GetProperty("instances")
            .EnumerateArray().Select(i => i.GetProperty("id").GetString()).Order().ToArray();
        await Eventually.TrueAsync(
            () => discovery.TryGetEndpoints("orders", out var list) && list.Endpoints.Select(e => e.Id).Order().SequenceEqual(expected),
            "the consumer's list is the registry's final list");
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        Assert.Empty(callbackErrors);
        Assert.True(failures.IsEmpty, $"{failures.Count} of {answered} requests failed: {string.Join("; ", failures.Take(10))}");
        Assert.True(Volatile.Read(ref callbacks) > 4, "the subscribers' callbacks ran");
        Assert.True(reloads >= 300);

        // The last reload is the one in force.
        var last = Policies[reloads % Policies.Length];
        Assert.Equal(last, balancer.Options.Policy);
    }

    [Fact]
    public void The_sdk_takes_no_lock_so_no_request_can_wait_on_one_held_across_an_await()
    {
        Assert.Empty(LockCalls(typeof(RosterDiscovery).Assembly));
        Assert.Empty(LockCalls(typeof(RosterAspNetCoreExtensions).Assembly));

        // The scan finds a lock where there is one.
        Assert.Contains(LockCalls(typeof(Seed002DeadlockTests).Assembly), call => call.Contains(nameof(LockingExample), StringComparison.Ordinal));
    }

    /// <summary>Calls to locking primitives in the compiled code of <paramref name="assembly"/>, async state machines included.</summary>
    private static List<string> LockCalls(Assembly assembly)
    {
        Type[] locking = [typeof(Monitor), typeof(Lock), typeof(SemaphoreSlim), typeof(ReaderWriterLockSlim), typeof(Mutex), typeof(SpinLock)];
        const BindingFlags everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var found = new List<string>();
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(everything).Cast<MethodBase>().Concat(type.GetConstructors(everything)))
            {
                var il = method.GetMethodBody()?.GetILAsByteArray();
                for (var i = 0; il is not null && i + 4 < il.Length; i++)
                {
                    // call, callvirt and newobj take a method token; any byte may look like one, so only tokens that resolve count.
                    if (il[i] is not (0x28 or 0x6F or 0x73))
                    {
                        continue;
                    }

                    var token = BitConverter.ToInt32(il, i + 1);
                    if ((token >>> 24) is not (0x06 or 0x0A or 0x2B))
                    {
                        continue;
                    }

                    try
                    {
                        var called = type.Module.ResolveMethod(
                            token, type.IsGenericType ? type.GetGenericArguments() : null, method.IsGenericMethod ? method.GetGenericArguments() : null);
                        if (called?.DeclaringType is { } declaring && locking.Contains(declaring))
                        {
                            found.Add($"{type.FullName}.{method.Name} calls {declaring.Name}.{called.Name}");
                        }
                    }
                    catch (Exception e) when (e is ArgumentException or BadImageFormatException or MissingMethodException or TypeLoadException)
                    {
                    }
                }
            }
        }

        return found;
    }

    private async Task<int> StartProviderAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGet("/work/{id}", async (string id) =>
        {
            await Task.Delay(1); // keeps requests in flight while the configuration reloads
            return id;
        });
        await app.StartAsync();
        _providers.Add(app);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
    }

    private async Task RegisterAsync(string id, int port, int weight = 100)
    {
        using var response = await _registry.RegisterAsync("prod", "orders", id, new { address = "127.0.0.1", port, weight, ttlSeconds = 60 });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Code that locks, for the scan's own check.</summary>
    private static class LockingExample
    {
        private static readonly object Gate = new();
        private static int s_count;

        public static void Increment()
        {
            lock (Gate)
            {
                s_count++;
            }
        }
    }
}
