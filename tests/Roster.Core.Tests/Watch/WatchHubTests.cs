using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;
using Roster.Core.Watch;

namespace Roster.Core.Tests.Watch;

public sealed class WatchHubTests
{
    private readonly RegistryStateMachine _machine = new(RegistryState.Empty);
    private long _position;

    private static WatchHub NewHub(int history = 1000, int queue = 1000) => new(RegistryState.Empty, "registry-1", history, queue);

    private void Change(WatchHub hub, string service, int instance)
    {
        var events = new List<ChangeEvent>();
        _machine.Apply(++_position, new RegisterChange(new InstanceKey("prod", service, $"i{instance}"), Registrations.Ephemeral(port: 1 + (int)(_position % 60000)), 0), events);
        hub.Publish(_machine.State, events);
    }

    private static async Task<List<(string Event, long Revision, System.Text.Json.JsonElement Data)>> TakeAsync(WatchSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var frames = new List<(string, long, System.Text.Json.JsonElement)>();
        await foreach (var frame in subscription.ReadAllAsync(timeout.Token))
        {
            if (frame.Revision == 0)
            {
                continue;
            }

            frames.Add(Frames.Parse(frame));
            if (frames.Count == count)
            {
                break;
            }
        }

        return frames;
    }

    [Fact]
    public async Task Subscribe_SinceInsideHistory_ReplaysOnlyLaterChangesOfWatchedServices()
    {
        var hub = NewHub();
        for (var i = 0; i < 10; i++)
        {
            Change(hub, i % 2 == 0 ? "orders" : "billing", i);
        }

        using var subscription = hub.Subscribe("prod", ["orders"], since: 4);
        Change(hub, "orders", 99);

        var frames = await TakeAsync(subscription, 4);
        Assert.False(subscription.StartsWithReset);
        Assert.Equal([5L, 7, 9, 11], frames.Select(f => f.Revision));
        Assert.All(frames, f => Assert.Equal("orders", f.Data.GetProperty("service").GetString()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(2L)]
    [InlineData(500L)]
    public async Task Subscribe_WithoutUsableSince_StartsWithResetOfTheFullList(long? since)
    {
        var hub = NewHub(history: 5);
        for (var i = 0; i < 20; i++)
        {
            Change(hub, "orders", i % 7);
        }

        using var subscription = hub.Subscribe("prod", ["orders"], since);
        Change(hub, "orders", 50);

        var frames = await TakeAsync(subscription, 2);
        Assert.True(subscription.StartsWithReset);
        Assert.Equal(("reset", 20L), (frames[0].Event, frames[0].Revision));
        var service = frames[0].Data.GetProperty("services")[0];
        Assert.Equal(7, service.GetProperty("instances").GetArrayLength());
        Assert.Equal(20, service.GetProperty("sequence").GetInt64());
        Assert.Equal(("upsert", 21L), (frames[1].Event, frames[1].Revision));
    }

    [Fact]
    public void A_subscription_without_keep_alives_is_not_woken_by_them_but_gets_the_next_change()
    {
        var hub = NewHub();
        Change(hub, "orders", 1);
        using var waiting = hub.Subscribe("prod", ["orders"], since: 1, keepAlives: false);
        Assert.Empty(waiting.TakeStartFrames());

        hub.SendKeepAlives();
        Assert.False(waiting.TryReadFrame(out _));

        Change(hub, "orders", 2);
        Assert.True(waiting.TryReadFrame(out var frame));
        Assert.Equal(2, frame.Revision);
    }

    [Fact]
    public async Task KeepAlive_ReachesAnIdleWatcher_AsACommentWithoutRevision()
    {
        var hub = NewHub();
        using var subscription = hub.Subscribe("prod", null, since: 0);

        hub.SendKeepAlives();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var frames = subscription.ReadAllAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await frames.MoveNextAsync());
        Assert.Equal(0, frames.Current.Revision);
        Assert.Equal(": keep-alive\n\n", System.Text.Encoding.UTF8.GetString(frames.Current.Bytes.Span));
    }

    [Fact]
    public void SlowConsumer_IsDisconnectedWithReason_AndPublishingNeverWaits()
    {
        var hub = NewHub(queue: 4);
        var slow = hub.Subscribe("prod", null, since: 0);

        for (var i = 0; i < 100; i++)
        {
            Change(hub, "orders", i);
        }

        Assert.Equal("slow-consumer", slow.EndReason);
        Assert.Equal(1, hub.SlowConsumersDropped);
        Assert.Equal(0, hub.SubscriberCount);
    }

    /// <summary>
    /// Seed 000: watchers registered from several threads while changes stream must never be lost,
    /// and each must see every change after its starting point, in order, once.
    /// </summary>
    [Fact]
    public async Task ConcurrentSubscribeAndDispose_WhilePublishing_EveryWatcherSeesAGaplessOrderedStream()
    {
        const int minimumChanges = 3000;
        const int maximumChanges = 300_000;
        const int framesToCheck = 2000;
        var hub = NewHub(history: 200, queue: 100_000);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var verified = 0;
        var publishing = Task.Run(() =>
        {
            // Publish until the watchers have checked enough frames (bounded), so a machine loaded by other
            // test assemblies still runs watchers and publisher side by side instead of one after the other.
            for (var i = 0; i < maximumChanges && (i < minimumChanges || Volatile.Read(ref verified) <= framesToCheck); i++)
            {
                Change(hub, "orders", i % 40);
                if (i % 64 == 0)
                {
                    Thread.Yield();
                }
            }
        });

        var watchers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            var rounds = 0;
            while (!publishing.IsCompleted || rounds < 3)
            {
                rounds++;
                var current = hub.State.Revision;
                long? since = random.Next(3) switch { 0 => null, 1 => Math.Max(0, current - random.Next(150)), _ => current };
                using var subscription = hub.Subscribe("prod", random.Next(2) == 0 ? null : ["orders"], since);
                var take = random.Next(1, 200);
                long expected = 0;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await foreach (var frame in subscription.ReadAllAsync(timeout.Token))
                    {
                        if (frame.Revision == 0)
                        {
                            continue;
                        }

                        var parsed = Frames.Parse(frame);
                        if (expected != 0 && parsed.Revision != expected)
                        {
                            failures.Add($"watcher {w}: expected revision {expected}, got {parsed.Revision} ({parsed.Event})");
                            break;
                        }

                        if (parsed.Event == "upsert" && parsed.Data.GetProperty("sequence").GetInt64() != parsed.Revision)
                        {
                            failures.Add($"watcher {w}: sequence {parsed.Data.GetProperty("sequence")} at revision {parsed.Revision}");
                        }

                        expected = parsed.Revision + 1;
                        Interlocked.Increment(ref verified);
                        if (--take == 0)
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Publishing finished before this watcher took all it wanted: fine.
                }
            }
        })).ToArray();

        await Task.WhenAll(watchers.Append(publishing));
        Assert.Empty(failures);
        Assert.True(verified > framesToCheck, $"only {verified} frames were checked");
        Assert.Equal(0, hub.SubscriberCount);
    }
}
