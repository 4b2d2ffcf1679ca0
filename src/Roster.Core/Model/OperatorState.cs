namespace Roster.Core.Model;

/// <summary>
/// What an operator set on an instance. Stored apart from the <see cref="Registration"/>, so a provider
/// that registers again never erases it. It outlives expiry (a crash-looping instance stays drained)
/// and is cleared by an explicit deregistration.
/// </summary>
public sealed record OperatorState(bool Drained, bool Disabled, int? WeightOverride)
{
    public static OperatorState None { get; } = new(false, false, null);

    public bool IsNone => !Drained && !Disabled && WeightOverride is null;

    public OperatorState Apply(OperatorPatch patch) => new(
        patch.Drained ?? Drained,
        patch.Disabled ?? Disabled,
        patch.ClearWeightOverride ? null : patch.WeightOverride ?? WeightOverride);
}

/// <summary>A change to <see cref="OperatorState"/>: null fields are left as they are.</summary>
public sealed record OperatorPatch(bool? Drained, bool? Disabled, int? WeightOverride, bool ClearWeightOverride);
