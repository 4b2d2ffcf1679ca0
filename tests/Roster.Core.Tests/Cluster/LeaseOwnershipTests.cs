using Roster.Core.Log;
using Roster.Core.Log.Stream;
using Roster.Core.Model;
using Roster.Core.Node;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Cluster;

/// <summary>
/// Lease ownership as replicated state, on two nodes sharing one stream: a provider that fails over and
/// renews at another node keeps its instance, because its lease moves there with a log entry and the old
/// owner can no longer expire it; when it stops renewing, the new owner expires it. And a node that is
/// behind waits for what a request names instead of answering from its older state.
/// </summary>
public sealed class LeaseOwnershipTests : IAsyncLifetime
{
    private static readonly InstanceKey Key = new("prod", "orders", "a1");
    private readonly ManualTimeProvider _time = new();
    private readonly InProcessBroker _broker = new();
    private RegistryNode _first = null!;
    private RegistryNode _second = null!;

    public async Task InitializeAsync()
    {
        // Off any round value: the lease wheel's slots are 100 ms wide.
        _time.Advance(TimeSpan.FromMilliseconds(3_337));
        _first = await StartAsync("01");
        _second = await StartAsync("02");
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    [Fact]
    public async Task RenewalsAtAnotherNode_MoveTheLease_SoTheOldOwnerNeverExpiresIt()
    {
        var incarnation = (await _first.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None)).Instance!.Incarnation;
        await Eventually.TrueAsync(() => _second.State.FindInstance(Key) is not null, "the second node applies the registration");
        Assert.Equal(_first.NodeId, _second.State.FindInstance(Key)!.Owner);
        Assert.Equal((1, 0), (_first.Leases.Count, _second.Leases.Count));

        // The provider fails over: its renewals now arrive at the second node.
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(Roster.Core.Leases.RenewStatus.Ok, _second.Renew(Key, incarnation));
        await Eventually.TrueAsync(
            () => _first.State.FindInstance(Key)?.Owner == _second.NodeId && _second.Leases.Count == 1 && _first.Leases.Count == 0,
            "the lease moves to the second node on both nodes");

        // Well past the TTL since the last renewal at the first node: it expires nothing.
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(Roster.Core.Leases.RenewStatus.Ok, _second.Renew(Key, incarnation));
        Assert.Equal(0, await _first.ExpireDueLeasesAsync(CancellationToken.None));

        // Even an expiry the first node had already written (it raced the claim) no longer removes it.
        await _first.Log.AppendAsync([new ChangeEnvelope(_first.NodeId, 0, new ExpireChange(Key, incarnation), AcceptedAt: 0)], CancellationToken.None);
        var afterRace = await _first.Log.GetLastPositionAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => _first.State.Revision >= afterRace && _second.State.Revision >= afterRace, "both nodes apply the late expiry");
        Assert.NotNull(_first.State.FindInstance(Key));
        Assert.NotNull(_second.State.FindInstance(Key));

        // The provider dies: the new owner expires the instance one TTL after its last renewal.
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, await _second.ExpireDueLeasesAsync(CancellationToken.None));
        await Eventually.TrueAsync(() => _first.State.FindInstance(Key) is null && _second.State.FindInstance(Key) is null, "both nodes remove it");
    }

    [Fact]
    public async Task AProviderThatRegistersAgainAtAnotherNode_MovesItsLeaseThere()
    {
        await _first.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None);
        await Eventually.TrueAsync(() => _second.State.FindInstance(Key) is not null, "the second node applies the registration");

        // The same registration again, at the second node: nothing a client sees changes, the owner does.
        var again = await _second.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None);
        Assert.Equal(Roster.Core.StateMachine.OutcomeStatus.Unchanged, again.Status);
        await Eventually.TrueAsync(() => _first.State.FindInstance(Key)?.Owner == _second.NodeId && _first.Leases.Count == 0, "the first node lets the lease go");
        Assert.Equal(1, _second.Leases.Count);
        Assert.Equal(1, _first.State.FindService("prod", "orders")!.Sequence);
    }

    [Fact]
    public async Task ANodeThatIsBehind_WaitsForTheIncarnationARequestNames_InsteadOfAnsweringUnknownOrNotFound()
    {
        _broker.Hold(_second.NodeId);
        var incarnation = (await _first.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None)).Instance!.Incarnation;
        Assert.Null(_second.State.FindInstance(Key));

        // An update naming the incarnation, sent to the node that has not seen it yet.
        var update = _second.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10, version: "2.0"), incarnation), CancellationToken.None);
        var catchUp = _second.CatchUpToAsync(incarnation, CancellationToken.None);
        Assert.False(update.IsCompleted);
        Assert.False(catchUp.IsCompleted, catchUp.IsCompleted ? $"result {await catchUp}, revision {_second.State.Revision}, incarnation {incarnation}, end {await _second.Log.GetLastPositionAsync(CancellationToken.None)}" : string.Empty);

        _broker.Release(_second.NodeId);
        Assert.True(await catchUp.WaitAsync(TimeSpan.FromSeconds(10)));
        var updated = await update.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Roster.Core.StateMachine.OutcomeStatus.Updated, updated.Status);
        Assert.Equal(Roster.Core.Leases.RenewStatus.Ok, _second.Renew(Key, incarnation));
    }

    [Fact]
    public async Task ADrainSentToANodeThatIsBehind_WaitsForTheRegistration_InsteadOfAnsweringNotFound()
    {
        _broker.Hold(_second.NodeId);
        await _first.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None);

        // No incarnation named: the second node only learns from the log that it has something to apply.
        var drain = _second.SubmitAsync(new OperatorChange(Key, new OperatorPatch(true, null, null, false)), CancellationToken.None);
        Assert.False(drain.IsCompleted);

        _broker.Release(_second.NodeId);
        var drained = await drain.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Roster.Core.StateMachine.OutcomeStatus.Updated, drained.Status);
        Assert.True(drained.Instance!.Operator.Drained);
    }

    [Fact]
    public async Task ARevisionBeyondTheLogsEnd_IsNotWaitedFor_AndABehindNodeGivesUpAfterItsBound()
    {
        var incarnation = (await _first.SubmitAsync(new RegisterChange(Key, Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None)).Instance!.Incarnation;
        var end = await _first.Log.GetLastPositionAsync(CancellationToken.None);

        // Beyond the end: the registry lost data; nothing will come, so no wait (the bound here is 30 s).
        await using var patient = await StartAsync("03", catchUpTimeout: TimeSpan.FromSeconds(30));
        Assert.False(await patient.CatchUpToAsync(end + 100_000, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

        // Behind and cut off: it waits for its bound, then answers from what it has.
        await using var cutOff = await StartAsync("04", catchUpTimeout: TimeSpan.FromMilliseconds(300));
        _broker.Hold(cutOff.NodeId);
        await _first.SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", "a2"), Registrations.Ephemeral(ttlSeconds: 10), 0), CancellationToken.None);
        var newest = await _first.Log.GetLastPositionAsync(CancellationToken.None);
        Assert.False(await cutOff.CatchUpToAsync(newest, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(cutOff.State.Revision >= incarnation);
        _broker.Release(cutOff.NodeId);
    }

    private Task<RegistryNode> StartAsync(string id, TimeSpan? catchUpTimeout = null) =>
        ClusterNodes.StartAsync(_broker, id, new RegistryNodeOptions
        {
            KeepAliveInterval = TimeSpan.FromDays(1),
            ExpiryScanInterval = TimeSpan.FromDays(1),
            CatchUpTimeout = catchUpTimeout ?? TimeSpan.FromSeconds(10),
        }, _time);
}
