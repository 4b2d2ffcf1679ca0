using System.Collections.Immutable;

namespace Roster.Core.Model;

/// <summary>
/// One service at one revision. Immutable: the applier builds a new one for each change.
/// A service is never removed once created, so its <see cref="Sequence"/> never goes backwards.
/// </summary>
/// <param name="Name">The service name.</param>
/// <param name="Sequence">Incremented by one on each change to this service; a client that sees a jump
/// knows it missed a change.</param>
/// <param name="Digest">XOR of the instances' hashes (see <see cref="InstanceDigest"/>).</param>
/// <param name="Instances">Instances by id, in ordinal order.</param>
/// <param name="Operators">Operator state by instance id, kept apart from registrations: it survives
/// re-registration and expiry.</param>
public sealed record ServiceState(
    string Name,
    long Sequence,
    ulong Digest,
    ImmutableSortedDictionary<string, InstanceRecord> Instances,
    ImmutableDictionary<string, OperatorState> Operators)
{
    public static ServiceState Create(string name) => new(
        name,
        0,
        0,
        ImmutableSortedDictionary.Create<string, InstanceRecord>(StringComparer.Ordinal),
        ImmutableDictionary.Create<string, OperatorState>(StringComparer.Ordinal));

    public OperatorState OperatorFor(string id) =>
        Operators.TryGetValue(id, out var state) ? state : OperatorState.None;
}
