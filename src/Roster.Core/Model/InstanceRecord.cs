namespace Roster.Core.Model;

/// <summary>
/// One registered instance as the registry holds it: the provider's registration, the operator's
/// state, and the revisions that identify this registration. Immutable.
/// </summary>
public sealed class InstanceRecord
{
    public InstanceRecord(string id, Registration registration, OperatorState @operator, long incarnation, long revision, string owner = "")
    {
        Id = id;
        Registration = registration;
        Operator = @operator;
        Incarnation = incarnation;
        Revision = revision;
        Owner = owner;
        Hash = InstanceDigest.Compute(this);
    }

    private InstanceRecord(InstanceRecord source, string owner)
    {
        Id = source.Id;
        Registration = source.Registration;
        Operator = source.Operator;
        Incarnation = source.Incarnation;
        Revision = source.Revision;
        Hash = source.Hash;
        Owner = owner;
    }

    /// <summary>Unique within the service.</summary>
    public string Id { get; }

    /// <summary>What the provider registered.</summary>
    public Registration Registration { get; }

    /// <summary>What an operator set; kept apart from the registration.</summary>
    public OperatorState Operator { get; }

    /// <summary>The revision at which this id was freshly registered. A renewal or update naming an
    /// older incarnation is refused.</summary>
    public long Incarnation { get; }

    /// <summary>The revision of the last change to this instance.</summary>
    public long Revision { get; }

    /// <summary>
    /// The node that owns the instance's lease: the one its provider registers and renews at. Only the
    /// owner expires it; renewals arriving at another node move it there with a log entry, so the old owner
    /// never expires an instance another node is renewing. Empty when unknown (an older checkpoint): then any
    /// node holding a lease may expire it. Not part of what clients see or of the digest.
    /// </summary>
    public string Owner { get; }

    /// <summary>This instance's contribution to its service's digest (see <see cref="InstanceDigest"/>).</summary>
    public ulong Hash { get; }

    /// <summary>The weight consumers should use: the operator's override, or 0 when drained or disabled.</summary>
    public int EffectiveWeight =>
        Operator.Drained || Operator.Disabled ? 0 : Operator.WeightOverride ?? Registration.Weight;

    public InstanceRecord WithOperator(OperatorState @operator, long revision) =>
        new(Id, Registration, @operator, Incarnation, revision, Owner);

    public InstanceRecord WithRegistration(Registration registration, long revision, string owner) =>
        new(Id, registration, Operator, Incarnation, revision, owner);

    /// <summary>The same instance owned by <paramref name="owner"/>: nothing a client sees changes.</summary>
    public InstanceRecord WithOwner(string owner) => owner == Owner ? this : new InstanceRecord(this, owner);
}
