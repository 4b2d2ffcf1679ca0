namespace Roster.Core.Model;

/// <summary>
/// What a provider says about one of its instances. Immutable and compared by value, so a repeated
/// registration with the same content is recognised as a no-op.
/// </summary>
public sealed record Registration(
    string Address,
    int Port,
    string Scheme,
    string Zone,
    string Version,
    int Weight,
    InstanceMetadata Metadata,
    InstanceKind Kind,
    int TtlSeconds)
{
    public const int DefaultWeight = 100;
    public const string DefaultScheme = "http";
}
