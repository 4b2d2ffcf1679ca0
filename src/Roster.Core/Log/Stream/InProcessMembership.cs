using Roster.Core.Node;

namespace Roster.Core.Log.Stream;

/// <summary>The membership of nodes in one process (beside an <see cref="InProcessBroker"/>): announcements
/// are times on one clock, read by every node.</summary>
public sealed class InProcessMembership(TimeProvider time) : IClusterMembership
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _lastHeard = new(StringComparer.Ordinal);

    public void Announce(string nodeId) => _lastHeard[nodeId] = time.GetTimestamp();

    public IReadOnlyCollection<string> LiveNodes(TimeSpan within)
    {
        var now = time.GetTimestamp();
        return _lastHeard.Where(n => time.GetElapsedTime(n.Value, now) <= within).Select(n => n.Key).ToList();
    }
}
