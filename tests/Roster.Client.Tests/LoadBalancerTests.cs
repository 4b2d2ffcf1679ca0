namespace Roster.Client.Tests;

public sealed class LoadBalancerTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void Round_robin_takes_each_eligible_endpoint_in_turn_and_never_a_weight_0_or_drained_one()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"), Endpoint("idle") with { Weight = 0 }, Endpoint("drained") with { Drained = true }, Endpoint("c"));

        var picks = Enumerable.Range(0, 30).Select(_ => Pick(balancer, list)).ToList();

        Assert.Equal(["a", "b", "c"], picks.Distinct().Order());
        Assert.All(picks.GroupBy(p => p), g => Assert.Equal(10, g.Count()));
    }

    [Fact]
    public void Weighted_random_follows_the_weights()
    {
        var balancer = Balancer(LoadBalancingPolicy.WeightedRandom);
        var list = List(Endpoint("light") with { Weight = 100 }, Endpoint("heavy") with { Weight = 300 });

        var heavy = Enumerable.Range(0, 20_000).Count(_ => Pick(balancer, list) == "heavy");

        Assert.InRange(heavy / 20_000.0, 0.72, 0.78);
    }

    [Fact]
    public void Power_of_two_choices_prefers_the_endpoint_with_fewer_requests_in_flight()
    {
        var balancer = Balancer(LoadBalancingPolicy.PowerOfTwoChoices);
        var list = List(Endpoint("a"), Endpoint("b"));
        EndpointLease busy;
        while (true)
        {
            Assert.True(balancer.TryPick(list, out busy));
            if (busy.Endpoint.Id == "a")
            {
                break;
            }

            busy.Complete(RequestOutcome.Success);
        }

        // With two endpoints both are always compared: while "a" has a request in flight, the idle "b" wins.
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("b", Pick(balancer, list)));
        busy.Complete(RequestOutcome.Success);
    }

    [Fact]
    public void Power_of_two_choices_tries_an_endpoint_that_was_slow_once_again_as_its_latency_estimate_fades()
    {
        var balancer = Balancer(LoadBalancingPolicy.PowerOfTwoChoices);
        var list = List(Endpoint("a"), Endpoint("b"));

        // The first endpoint picked answers in 500 ms (a process that has just started), the other in 1 ms.
        Assert.True(balancer.TryPick(list, out var slow));
        var slowId = slow.Endpoint.Id;
        _time.Advance(TimeSpan.FromMilliseconds(500));
        slow.Complete(RequestOutcome.Success);
        Assert.True(balancer.TryPick(list, out var fast));
        Assert.NotEqual(slowId, fast.Endpoint.Id);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        fast.Complete(RequestOutcome.Success);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.NotEqual(slowId, PickTaking(TimeSpan.FromMilliseconds(1))));

        // Nine seconds later its estimate (halved every second) is below 1 ms: it is chosen again, and fast
        // answers keep it in the rotation.
        _time.Advance(TimeSpan.FromSeconds(9));
        var picks = Enumerable.Range(0, 50).Select(_ => PickTaking(TimeSpan.FromMilliseconds(1))).ToList();
        Assert.InRange(picks.Count(p => p == slowId), 10, 40);
        Assert.InRange(balancer.Describe(list).Single(e => e.Endpoint.Id == slowId).Latency, TimeSpan.FromMilliseconds(0.9), TimeSpan.FromMilliseconds(1.1));

        string PickTaking(TimeSpan latency)
        {
            Assert.True(balancer.TryPick(list, out var lease));
            _time.Advance(latency);
            lease.Complete(RequestOutcome.Success);
            return lease.Endpoint.Id;
        }
    }

    [Fact]
    public void Consistent_hashing_keeps_a_key_on_its_endpoint_and_moves_only_the_keys_of_a_removed_one()
    {
        var balancer = Balancer(LoadBalancingPolicy.ConsistentHash);
        var four = List(Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"));
        var keys = Enumerable.Range(0, 2_000).Select(i => $"customer-{i}").ToArray();
        var before = keys.ToDictionary(k => k, k => Pick(balancer, four, k));

        Assert.All(keys.Take(100), k => Assert.Equal(before[k], Pick(balancer, four, k)));
        Assert.All(before.Values.GroupBy(v => v), g => Assert.InRange(g.Count(), 300, 700));

        var withoutC = List(2, Endpoint("a"), Endpoint("b"), Endpoint("d"));
        var after = keys.ToDictionary(k => k, k => Pick(balancer, withoutC, k));
        Assert.All(keys.Where(k => before[k] != "c"), k => Assert.Equal(before[k], after[k]));
    }

    [Fact]
    public void The_local_zone_is_preferred_while_any_of_it_is_eligible()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin, o => o.LocalZone = "zone-a");
        var list = List(Endpoint("far") with { Zone = "zone-b" }, Endpoint("near") with { Zone = "zone-a" });
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal("near", Pick(balancer, list)));

        var nearDrained = List(2, Endpoint("far") with { Zone = "zone-b" }, Endpoint("near") with { Zone = "zone-a", Drained = true });
        Assert.Equal("far", Pick(balancer, nearDrained));
    }

    [Fact]
    public void Consecutive_failures_eject_an_endpoint_until_its_time_is_up()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"));
        FailUntilEjected(balancer, list, "b");

        Assert.DoesNotContain("b", Enumerable.Range(0, 30).Select(_ => Pick(balancer, list)));

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Contains("b", Enumerable.Range(0, 30).Select(_ => Pick(balancer, list)));
    }

    [Fact]
    public void Ejection_stops_at_the_cap_so_it_never_empties_a_service()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"));
        FailUntilEjected(balancer, list, "a");

        // "b" fails as much, but ejecting it too would exceed half of the service.
        for (var i = 0; i < 20; i++)
        {
            Assert.True(balancer.TryPick(list, out var lease));
            Assert.Equal("b", lease.Endpoint.Id);
            lease.Complete(RequestOutcome.Failure);
        }

        Assert.Equal("b", Pick(balancer, list));

        var single = List(Endpoint("only"));
        for (var i = 0; i < 20; i++)
        {
            Assert.True(balancer.TryPick(single, out var lease));
            lease.Complete(RequestOutcome.Failure);
        }

        Assert.Equal("only", Pick(balancer, single));
    }

    [Fact]
    public void A_rejection_skips_the_endpoint_for_its_retry_after_without_counting_as_a_failure()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"));
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(3));
            Complete(balancer, list, "a", RequestOutcome.Rejected, TimeSpan.FromSeconds(3));
        }

        Assert.DoesNotContain("a", Enumerable.Range(0, 30).Select(_ => Pick(balancer, list)));
        _time.Advance(TimeSpan.FromSeconds(3));

        // Back at once: ten rejections are not ten failures, so "a" was never ejected.
        Assert.Contains("a", Enumerable.Range(0, 30).Select(_ => Pick(balancer, list)));
    }

    [Fact]
    public void When_every_endpoint_is_set_aside_one_is_still_tried_but_none_with_weight_0()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"));
        Complete(balancer, list, "a", RequestOutcome.Rejected, TimeSpan.FromSeconds(30));
        Complete(balancer, list, "b", RequestOutcome.Rejected, TimeSpan.FromSeconds(30));

        Assert.Contains(Pick(balancer, list), (string[])["a", "b"]);
        Assert.False(balancer.TryPick(List(Endpoint("idle") with { Weight = 0 }), out _));
        Assert.False(balancer.TryPick(List(), out _));
    }

    [Fact]
    public void Statistics_follow_an_endpoint_into_a_new_list_but_not_into_a_new_incarnation()
    {
        var balancer = Balancer(LoadBalancingPolicy.RoundRobin);
        var list = List(Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"));
        FailUntilEjected(balancer, list, "b");

        var changed = List(2, Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"), Endpoint("e"));
        Assert.DoesNotContain("b", Enumerable.Range(0, 30).Select(_ => Pick(balancer, changed)));

        var restarted = List(3, Endpoint("a"), Endpoint("b") with { Incarnation = 99 }, Endpoint("c"), Endpoint("d"), Endpoint("e"));
        Assert.Contains("b", Enumerable.Range(0, 30).Select(_ => Pick(balancer, restarted)));
    }

    [Fact]
    public void Picking_and_completing_allocate_nothing()
    {
        foreach (var policy in Enum.GetValues<LoadBalancingPolicy>())
        {
            var balancer = Balancer(policy);
            var list = List(Endpoint("a"), Endpoint("b"), Endpoint("c"));
            Pick(balancer, list, "warm-up");
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10_000; i++)
            {
                balancer.TryPick(list, out var lease, "key");
                lease.Complete(RequestOutcome.Success);
            }

            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000, $"{policy} allocated");
        }
    }

    [Fact]
    public async Task Many_threads_picking_while_the_list_changes_leave_nothing_in_flight()
    {
        var balancer = Balancer(LoadBalancingPolicy.PowerOfTwoChoices);
        var current = List(Endpoint("a"), Endpoint("b"), Endpoint("c"));
        using var stop = new CancellationTokenSource();
        var leases = 0L;
        // Threads of their own (not the pool's): spinning pool threads starved the other tests of this assembly
        // running beside it (a stepped-clock test once timed out after this one took 32 s in a full run).
        var pickers = Enumerable.Range(0, 3).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var list = Volatile.Read(ref current);
                if (balancer.TryPick(list, out var lease))
                {
                    Interlocked.Increment(ref leases);
                    lease.Complete(Random.Shared.Next(10) == 0 ? RequestOutcome.Failure : RequestOutcome.Success);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (var sequence = 2; sequence < 400 || (Interlocked.Read(ref leases) < 50_000 && DateTime.UtcNow < deadline); sequence++)
        {
            Volatile.Write(ref current, sequence % 2 == 0
                ? List(sequence, Endpoint("a"), Endpoint("b"), Endpoint("c"), Endpoint("d"))
                : List(sequence, Endpoint("b"), Endpoint("c")));
            await Task.Yield();
        }

        await stop.CancelAsync();
        await Task.WhenAll(pickers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(leases >= 50_000, $"only {leases} picks were made");
        var final = Volatile.Read(ref current);
        Assert.Equal(0, balancer.RequestsInFlight(final));
    }

    private RosterLoadBalancer Balancer(LoadBalancingPolicy policy, Action<LoadBalancerOptions>? configure = null)
    {
        var options = new LoadBalancerOptions { Policy = policy };
        configure?.Invoke(options);
        return new RosterLoadBalancer(options, _time);
    }

    private static InstanceEndpoint Endpoint(string id) => new(id, "10.0.0.1", 8000) { Incarnation = 1 };

    private static ServiceEndpoints List(params InstanceEndpoint[] endpoints) => List(1, endpoints);

    private static ServiceEndpoints List(long sequence, params InstanceEndpoint[] endpoints) =>
        new("prod", "orders", sequence, [.. endpoints], EndpointSource.Live, DateTimeOffset.UnixEpoch);

    private static string Pick(RosterLoadBalancer balancer, ServiceEndpoints list, string? key = null)
    {
        Assert.True(balancer.TryPick(list, out var lease, key));
        lease.Complete(RequestOutcome.Success);
        return lease.Endpoint.Id;
    }

    private static void Complete(RosterLoadBalancer balancer, ServiceEndpoints list, string id, RequestOutcome outcome, TimeSpan? retryAfter = null)
    {
        while (true)
        {
            Assert.True(balancer.TryPick(list, out var lease));
            if (lease.Endpoint.Id == id)
            {
                lease.Complete(outcome, retryAfter);
                return;
            }

            lease.Complete(RequestOutcome.Success);
        }
    }

    private static void FailUntilEjected(RosterLoadBalancer balancer, ServiceEndpoints list, string id)
    {
        for (var i = 0; i < balancer.Options.ConsecutiveFailuresToEject; i++)
        {
            Complete(balancer, list, id, RequestOutcome.Failure);
        }
    }
}
