namespace Roster.Core.Node;

/// <summary>
/// Which nodes of a cluster are alive, known outside the change log: each node announces itself
/// periodically, and a node not heard from for one lease TTL is silent. Its leases are then adopted by a
/// deterministic successor, so providers that failed over keep their instances and those that died with it
/// still expire.
/// </summary>
public interface IClusterMembership
{
    /// <summary>Says <paramref name="nodeId"/> is alive now.</summary>
    void Announce(string nodeId);

    /// <summary>The nodes heard from within <paramref name="within"/>, by id.</summary>
    IReadOnlyCollection<string> LiveNodes(TimeSpan within);
}
