using Roster.Core.Log;
using Roster.Core.Log.Embedded;

namespace Roster.Core.Node;

/// <summary>What a node starts from: its log, its checkpoints and the newest one, and its identity.</summary>
public sealed class NodeStorage : IAsyncDisposable
{
    private readonly FileStream? _lock;

    private NodeStorage(IChangeLog log, ICheckpointStore? checkpoints, Checkpoint? latest, RegistryIdentity identity, FileStream? @lock)
    {
        Log = log;
        Checkpoints = checkpoints;
        Latest = latest;
        Identity = identity;
        _lock = @lock;
    }

    public IChangeLog Log { get; }

    public ICheckpointStore? Checkpoints { get; }

    public Checkpoint? Latest { get; }

    public RegistryIdentity Identity { get; }

    /// <summary>No durability: for tests and throw-away nodes (<c>--in-memory</c>).</summary>
    public static NodeStorage InMemory() =>
        new(new InMemoryChangeLog(), null, null, RegistryIdentity.CreateNew(), null);

    /// <summary>
    /// Opens (or creates) a data directory: <c>registry-id</c>, <c>node-id</c>, <c>log/</c>, <c>checkpoints/</c>.
    /// Takes an exclusive lock on <c>lock</c> so two processes never share one directory.
    /// </summary>
    public static async Task<NodeStorage> OpenDirectoryAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDirectory);
        FileStream @lock;
        try
        {
            @lock = new FileStream(Path.Combine(dataDirectory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The data directory '{dataDirectory}' is in use by another Roster process.", ex);
        }

        try
        {
            var identity = new RegistryIdentity(
                await ReadOrCreateIdAsync(Path.Combine(dataDirectory, "registry-id"), cancellationToken).ConfigureAwait(false),
                await ReadOrCreateIdAsync(Path.Combine(dataDirectory, "node-id"), cancellationToken).ConfigureAwait(false));
            var checkpoints = new FileCheckpointStore(Path.Combine(dataDirectory, "checkpoints"));
            var latest = await checkpoints.LoadLatestAsync(cancellationToken).ConfigureAwait(false);
            var log = FileChangeLog.Open(Path.Combine(dataDirectory, "log"), latest?.State.Revision ?? 0);
            return new NodeStorage(log, checkpoints, latest, identity, @lock);
        }
        catch
        {
            await @lock.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync().ConfigureAwait(false);
        if (_lock is not null)
        {
            await _lock.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<string> ReadOrCreateIdAsync(string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            var existing = (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }

        var id = RegistryIdentity.NewId();
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(id + "\n"), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        return id;
    }
}
