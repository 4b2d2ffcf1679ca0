namespace Roster.Core.Model;

/// <summary>
/// One registered instance as the registry holds it: the provider's registration, the operator's
/// state, and the revisions that identify this registration. Immutable.
/// </summary>
public sealed class InstanceRecord
{
    public InstanceRecord(string id, Registration registration, OperatorState @operator, long incarnation, long revision)
    {
        Id = id;
        Registration = registration;
        Operator = @operator;
        Incarnation = incarnation;
        Revision = revision;
        Hash = InstanceDigest.Compute(this);
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

    /// <summary>This instance's contribution to its service's digest (see <see cref="InstanceDigest"/>).</summary>
    public ulong Hash { get; }

    /// <summary>The weight consumers should use: the operator's override, or 0 when drained or disabled.</summary>
    public int EffectiveWeight =>
        Operator.Drained || Operator.Disabled ? 0 : Operator.WeightOverride ?? Registration.Weight;

    public InstanceRecord WithOperator(OperatorState @operator, long revision) =>
        new(Id, Registration, @operator, Incarnation, revision);

    public InstanceRecord WithRegistration(Registration registration, long revision) =>
        new(Id, registration, Operator, Incarnation, revision);
}
