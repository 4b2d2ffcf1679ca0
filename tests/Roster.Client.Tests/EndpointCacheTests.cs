using System.Collections.Immutable;
using Roster.Client.Discovery;

namespace Roster.Client.Tests;

public sealed class EndpointCacheTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ServiceEndpoints List(long sequence, int count, EndpointSource source = EndpointSource.Live) =>
        new("prod", "orders", sequence, [.. Enumerable.Range(0, count).Select(i => new InstanceEndpoint($"orders-{i}", "10.0.0." + i, 8080))], source, Now);

    [Fact]
    public void A_newer_list_replaces_and_an_older_one_is_ignored()
    {
        var cache = new EndpointCache();
        Assert.False(cache.TryGet("prod", "orders", out _));

        Assert.Equal(ReplaceOutcome.Replaced, cache.Replace(List(5, 2), confirmedEmpty: false));
        Assert.Equal(ReplaceOutcome.Older, cache.Replace(List(4, 3), confirmedEmpty: false));

        Assert.True(cache.TryGet("prod", "orders", out var current));
        Assert.Equal(5, current.Sequence);
        Assert.Equal(2, current.Endpoints.Length);
        Assert.False(cache.TryGet("prod", "billing", out _));
    }

    [Fact]
    public void An_empty_list_replaces_a_non_empty_one_only_when_the_registry_confirmed_it()
    {
        var cache = new EndpointCache();
        cache.Replace(List(5, 2), confirmedEmpty: false);

        Assert.Equal(ReplaceOutcome.EmptyRefused, cache.Replace(List(6, 0), confirmedEmpty: false));
        Assert.True(cache.TryGet("prod", "orders", out var kept));
        Assert.Equal(2, kept.Endpoints.Length);

        Assert.Equal(ReplaceOutcome.Replaced, cache.Replace(List(7, 0), confirmedEmpty: true));
        Assert.True(cache.TryGet("prod", "orders", out var emptied));
        Assert.True(emptied.Endpoints.IsEmpty);
    }

    [Fact]
    public void During_an_outage_lists_are_kept_and_marked_cached()
    {
        var cache = new EndpointCache();
        cache.Replace(List(5, 2), confirmedEmpty: false);

        cache.MarkAllCached(Now);

        Assert.True(cache.TryGet("prod", "orders", out var cached));
        Assert.Equal(EndpointSource.Cached, cached.Source);
        Assert.Equal(2, cached.Endpoints.Length);
        Assert.Equal(TimeSpan.FromSeconds(30), cached.AgeAt(Now.AddSeconds(30)));
    }

    [Fact]
    public void Reading_a_list_allocates_nothing()
    {
        var cache = new EndpointCache();
        cache.Replace(List(1, 3), confirmedEmpty: false);
        for (var i = 0; i < 100_000; i++)
        {
            cache.TryGet("prod", "orders", out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            cache.TryGet("prod", "orders", out _);
        }

        // One read allocating even one object would show as megabytes; the runtime may allocate a few
        // bytes once while it recompiles the loop, which is not the reads' doing.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 100, $"{allocated} bytes allocated by 100,000 reads");
    }

    [Fact]
    public async Task Many_writers_and_readers_at_once_end_on_the_newest_list_and_readers_never_go_back()
    {
        const int writers = 6;
        const int perWriter = 20_000;
        var cache = new EndpointCache();
        cache.Replace(List(0, 1), confirmedEmpty: false);
        var lists = Enumerable.Range(0, 4).Select(n => List(0, n + 1).Endpoints).ToArray();
        using var done = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        var readers = Enumerable.Range(0, 6).Select(_ => Task.Run(() =>
        {
            long last = 0;
            while (!done.IsCancellationRequested)
            {
                if (!cache.TryGet("prod", "orders", out var seen) || seen.Endpoints.IsEmpty)
                {
                    failures.Add("a reader saw no list or an empty one");
                }
                else if (seen.Sequence < last)
                {
                    failures.Add($"a reader went back from {last} to {seen.Sequence}");
                }
                else
                {
                    last = seen.Sequence;
                }
            }
        })).ToArray();
        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            for (var i = 1; i <= perWriter; i++)
            {
                long sequence = (long)i * writers + w;
                // Every few writes an unconfirmed empty list, which must never show.
                var endpoints = i % 7 == 0 ? ImmutableArray<InstanceEndpoint>.Empty : lists[i % lists.Length];
                cache.Replace(new ServiceEndpoints("prod", "orders", sequence, endpoints, EndpointSource.Live, Now), confirmedEmpty: false);
            }
        })).ToArray();

        await Task.WhenAll(writing).WaitAsync(TimeSpan.FromSeconds(60));
        await done.CancelAsync();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(failures);
        Assert.True(cache.TryGet("prod", "orders", out var final));
        // The last non-empty write of the writer with the highest sequences.
        var newestNonEmpty = Enumerable.Range(0, writers).SelectMany(w => Enumerable.Range(1, perWriter).Where(i => i % 7 != 0).Select(i => (long)i * writers + w)).Max();
        Assert.Equal(newestNonEmpty, final.Sequence);
    }
}
