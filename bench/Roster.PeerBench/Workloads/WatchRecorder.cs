namespace Roster.PeerBench.Workloads;

/// <summary>
/// What one watcher saw, written only by that watcher's receive loop and read by the workload once it
/// is done (or through the volatile counters while it waits).
/// </summary>
internal sealed class WatchRecorder
{
    private long[] _created = [];
    private long[] _deleted = [];
    private int _holderDeletes;
    private long _spuriousDeletes;

    public int HolderDeletes => Volatile.Read(ref _holderDeletes);

    /// <summary>Stopwatch timestamp of the latest holder delete seen.</summary>
    public long LastHolderDelete { get; private set; }

    public long SpuriousDeletes => Volatile.Read(ref _spuriousDeletes);

    /// <summary>Called before W3's writer starts: one slot per created and per deleted key.</summary>
    public void PrepareChanges(int keys)
    {
        Volatile.Write(ref _created, new long[keys]);
        Volatile.Write(ref _deleted, new long[keys]);
    }

    public long CreatedAt(int key) => Volatile.Read(ref _created[key]);

    public long DeletedAt(int key) => Volatile.Read(ref _deleted[key]);

    public void OnUpsert(ReadOnlySpan<char> id, long timestamp)
    {
        if (TryChangeKey(id, out var key))
        {
            var created = Volatile.Read(ref _created);
            if (key < created.Length && created[key] == 0)
            {
                Volatile.Write(ref created[key], timestamp);
            }
        }
    }

    public void OnDelete(ReadOnlySpan<char> id, long timestamp)
    {
        if (TryChangeKey(id, out var key))
        {
            var deleted = Volatile.Read(ref _deleted);
            if (key < deleted.Length && deleted[key] == 0)
            {
                Volatile.Write(ref deleted[key], timestamp);
            }
        }
        else if (id.StartsWith("h-"))
        {
            LastHolderDelete = timestamp;
            Interlocked.Increment(ref _holderDeletes);
        }
        else if (id.StartsWith("p"))
        {
            // A provider instance: its provider is alive for the whole run, so no delete is ever right.
            Interlocked.Increment(ref _spuriousDeletes);
        }
    }

    /// <summary>Provider instances missing from a full list received after a reconnection: deletes the watcher would infer.</summary>
    public void OnMissingAfterResume(int count) => Interlocked.Add(ref _spuriousDeletes, count);

    private static bool TryChangeKey(ReadOnlySpan<char> id, out int key)
    {
        key = 0;
        return id.StartsWith("w3-") && int.TryParse(id[3..], out key);
    }
}
