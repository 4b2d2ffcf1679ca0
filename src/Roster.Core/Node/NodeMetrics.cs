namespace Roster.Core.Node;

/// <summary>Counters the node keeps about itself; the HTTP host observes them as instruments.</summary>
public sealed class NodeMetrics
{
    private long _expiredTotal;
    private long _appliedEntries;
    private int _selfPreservingNamespaces;

    public long ExpiredTotal => Interlocked.Read(ref _expiredTotal);

    public long AppliedEntries => Interlocked.Read(ref _appliedEntries);

    /// <summary>Namespaces in which expiry is paused by self-preservation now.</summary>
    public int SelfPreservingNamespaces => Volatile.Read(ref _selfPreservingNamespaces);

    internal void AddExpired(int count) => Interlocked.Add(ref _expiredTotal, count);

    internal void AddApplied(int count) => Interlocked.Add(ref _appliedEntries, count);

    internal void SetSelfPreserving(int namespaces) => Volatile.Write(ref _selfPreservingNamespaces, namespaces);
}
