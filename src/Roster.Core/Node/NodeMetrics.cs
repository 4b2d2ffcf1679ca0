using System.Collections.Frozen;

namespace Roster.Core.Node;

/// <summary>Counters the node keeps about itself; the HTTP host observes them as instruments.</summary>
public sealed class NodeMetrics
{
    private long _expiredTotal;
    private long _appliedEntries;
    private volatile FrozenSet<string> _selfPreserving = FrozenSet<string>.Empty;

    public long ExpiredTotal => Interlocked.Read(ref _expiredTotal);

    public long AppliedEntries => Interlocked.Read(ref _appliedEntries);

    /// <summary>Namespaces in which expiry is paused by self-preservation now.</summary>
    public int SelfPreservingNamespaces => _selfPreserving.Count;

    /// <summary>The namespaces in which expiry is paused now: an immutable set, replaced whole by the expiry loop.</summary>
    public IReadOnlySet<string> SelfPreservingNamespaceNames => _selfPreserving;

    internal void AddExpired(int count) => Interlocked.Add(ref _expiredTotal, count);

    internal void AddApplied(int count) => Interlocked.Add(ref _appliedEntries, count);

    internal void SetSelfPreserving(IEnumerable<string> namespaces)
    {
        if (!_selfPreserving.SetEquals(namespaces))
        {
            _selfPreserving = namespaces.ToFrozenSet(StringComparer.Ordinal);
        }
    }
}
