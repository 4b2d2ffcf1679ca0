using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.StateMachine;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.StateMachine;

public sealed class RegistryStateMachineTests
{
    private static readonly InstanceKey Key = new("prod", "orders", "a");
    private readonly RegistryStateMachine _machine = new(RegistryState.Empty);
    private readonly List<ChangeEvent> _events = [];

    [Fact]
    public void Register_New_CreatesWithIncarnationEqualToRevision()
    {
        var outcome = _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);

        Assert.Equal(OutcomeStatus.Created, outcome.Status);
        Assert.Equal(1, outcome.Instance!.Incarnation);
        var change = Assert.Single(_events);
        Assert.Equal((ChangeEventKind.Upsert, 1L, 1L), (change.Kind, change.Revision, change.Sequence));
        Assert.Equal(1, _machine.State.InstanceCount);
    }

    [Fact]
    public void Register_IdenticalContent_IsUnchangedWithoutEvent()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        _events.Clear();

        var outcome = _machine.Apply(2, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);

        Assert.Equal(OutcomeStatus.Unchanged, outcome.Status);
        Assert.Equal(1, outcome.Instance!.Incarnation);
        Assert.Empty(_events);
        Assert.Equal(2, _machine.State.Revision);
    }

    [Fact]
    public void Register_NewContentWithoutIncarnation_StartsNewIncarnation()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);

        var outcome = _machine.Apply(2, new RegisterChange(Key, Registrations.Ephemeral(port: 9090), 0), _events);

        Assert.Equal(OutcomeStatus.Updated, outcome.Status);
        Assert.Equal(2, outcome.Instance!.Incarnation);
    }

    [Fact]
    public void Register_UpdateNamingCurrentIncarnation_KeepsIncarnation()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);

        var outcome = _machine.Apply(2, new RegisterChange(Key, Registrations.Ephemeral(version: "2.0"), 1), _events);

        Assert.Equal(OutcomeStatus.Updated, outcome.Status);
        Assert.Equal((1L, 2L), (outcome.Instance!.Incarnation, outcome.Instance.Revision));
    }

    [Fact]
    public void Register_UpdateNamingOldIncarnation_IsRefusedAndChangesNothing()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        _machine.Apply(2, new RegisterChange(Key, Registrations.Ephemeral(port: 9), 0), _events);
        var before = _machine.State.FindService("prod", "orders");

        var outcome = _machine.Apply(3, new RegisterChange(Key, Registrations.Ephemeral(version: "old"), 1), _events);

        Assert.Equal(OutcomeStatus.StaleIncarnation, outcome.Status);
        Assert.Same(before!.Instances, _machine.State.FindService("prod", "orders")!.Instances);
    }

    [Fact]
    public void Deregister_ClearsOperatorState_ButExpiryKeepsIt()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        _machine.Apply(2, new OperatorChange(Key, new OperatorPatch(true, null, null, false)), _events);
        _machine.Apply(3, new ExpireChange(Key, 1), _events);

        var again = _machine.Apply(4, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        Assert.True(again.Instance!.Operator.Drained);
        Assert.Equal(0, again.Instance.EffectiveWeight);

        _machine.Apply(5, new DeregisterChange(Key, 0), _events);
        var fresh = _machine.Apply(6, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        Assert.False(fresh.Instance!.Operator.Drained);
    }

    [Fact]
    public void Expire_OfOldIncarnation_IsIgnored()
    {
        _machine.Apply(1, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);
        _machine.Apply(2, new RegisterChange(Key, Registrations.Ephemeral(port: 2), 0), _events);
        _events.Clear();

        var outcome = _machine.Apply(3, new ExpireChange(Key, 1), _events);

        Assert.Equal(OutcomeStatus.Unchanged, outcome.Status);
        Assert.Empty(_events);
        Assert.NotNull(_machine.State.FindInstance(Key));
    }

    [Fact]
    public void Apply_PositionAlreadyApplied_IsIgnored()
    {
        _machine.Apply(5, new RegisterChange(Key, Registrations.Ephemeral(), 0), _events);

        var outcome = _machine.Apply(5, new DeregisterChange(Key, 0), _events);

        Assert.Equal(OutcomeStatus.AlreadyApplied, outcome.Status);
        Assert.NotNull(_machine.State.FindInstance(Key));
    }

    [Fact]
    public void Digest_AfterManyChanges_EqualsXorOfInstanceHashes()
    {
        var random = new Random(7);
        for (var position = 1; position <= 2000; position++)
        {
            var key = Key with { Id = $"i{random.Next(50)}" };
            Change change = random.Next(4) switch
            {
                0 => new DeregisterChange(key, 0),
                1 => new OperatorChange(key, new OperatorPatch(random.Next(2) == 0, null, random.Next(3) == 0 ? random.Next(100) : null, false)),
                _ => new RegisterChange(key, Registrations.Ephemeral(port: random.Next(1, 5)), 0),
            };
            _machine.Apply(position, change, _events);
        }

        var service = _machine.State.FindService("prod", "orders")!;
        var expected = service.Instances.Values.Aggregate(0UL, (digest, instance) => digest ^ InstanceDigest.Compute(instance));
        Assert.Equal(expected, service.Digest);
        Assert.Equal(_events.Count, service.Sequence);
        Assert.Equal(Enumerable.Range(1, _events.Count).Select(i => (long)i), _events.Select(e => e.Sequence));
    }
}

public sealed class InstanceDigestTests
{
    /// <summary>Clients reproduce the digest from the documented text; this pins the byte layout.</summary>
    [Fact]
    public void Compute_HashesTheDocumentedText()
    {
        var metadata = InstanceMetadata.From([new("b", "2"), new("a", "1")]);
        var instance = new InstanceRecord(
            "10.0.0.5:8080",
            new Registration("10.0.0.5", 8080, "http", "eu-1a", "1.2", 100, metadata, InstanceKind.Ephemeral, 10),
            new OperatorState(true, false, null),
            42,
            43);
        var text = "10.0.0.5:8080\n10.0.0.5\n8080\nhttp\neu-1a\n1.2\n100\n0\n1\n0\n42\n{\"a\":\"1\",\"b\":\"2\"}";

        var expected = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            expected = (expected ^ b) * 1099511628211UL;
        }

        Assert.Equal(expected, InstanceDigest.Compute(instance));
        Assert.Equal(16, InstanceDigest.Format(expected).Length);
    }
}
