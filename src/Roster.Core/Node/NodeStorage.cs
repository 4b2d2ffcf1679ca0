using System.Globalization;
using Microsoft.Extensions.Logging;
using Roster.Core.Log;
using Roster.Core.Log.Embedded;
using Roster.Core.Model;
using Roster.Core.StateMachine;

namespace Roster.Core.Node;

/// <summary>What a node starts from: its log, its checkpoints and the newest one, and its identity.</summary>
public sealed partial class NodeStorage : IAsyncDisposable
{
    private const string SetAsideFolder = "damaged";
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

    /// <summary>A node of a cluster: <paramref name="log"/> is its connection to the stream every node shares,
    /// <paramref name="identity"/> names the cluster's registry and this node, and <paramref name="membership"/>
    /// tells which nodes are alive (without it, a silent node's leases are never adopted). With
    /// <paramref name="latest"/> the node starts from that checkpoint and reads the log after it; with
    /// <paramref name="checkpoints"/> it saves checkpoints there. <paramref name="loops"/> are the loops the log and the
    /// membership run (publisher, barriers, membership): one that faults makes the node unhealthy as its own would.</summary>
    public static NodeStorage ForCluster(
        IChangeLog log, RegistryIdentity identity, IClusterMembership? membership = null, ICheckpointStore? checkpoints = null, Checkpoint? latest = null,
        IReadOnlyList<LoopHealth>? loops = null) =>
        new(log, checkpoints, latest, identity, null) { Membership = membership, Loops = loops ?? [] };

    /// <summary>Loops the storage runs beside the node's own (a cluster's bus connections); none for a single node.</summary>
    public IReadOnlyList<LoopHealth> Loops { get; private init; } = [];

    /// <summary>Which nodes of the cluster are alive; null for a single node.</summary>
    public IClusterMembership? Membership { get; private init; }

    public static Task<NodeStorage> OpenDirectoryAsync(string dataDirectory, CancellationToken cancellationToken) =>
        OpenDirectoryAsync(dataDirectory, new DataDirectoryOptions(), cancellationToken);

    /// <summary>
    /// Opens (or creates) a data directory: <c>registry-id</c>, <c>node-id</c>, <c>log/</c>, <c>checkpoints/</c>.
    /// Takes an exclusive lock on <c>lock</c> so two processes never share one directory.
    /// <para>
    /// Recovery: the node starts from the newest readable checkpoint plus the log after it, and only when
    /// that log continues without a gap up to the highest revision the directory shows was reached. A
    /// torn last write (never acknowledged) is cut. Damage the node does not need (a checkpoint it fell
    /// back from, a segment a newer checkpoint covers) is set aside under <c>damaged/</c> with a warning.
    /// Damage it needs throws <see cref="DataDirectoryDamagedException"/>, unless
    /// <see cref="DataDirectoryOptions.AcceptDataLoss"/> is set.
    /// </para>
    /// </summary>
    public static async Task<NodeStorage> OpenDirectoryAsync(string dataDirectory, DataDirectoryOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
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
            var logger = options.Logger;
            var checkpoints = new FileCheckpointStore(Path.Combine(dataDirectory, "checkpoints"));
            var logDirectory = Path.Combine(dataDirectory, "log");
            RemoveTemporaryFiles(logger, dataDirectory, checkpoints.Directory);

            var inspection = await DataDirectoryInspection.InspectAsync(dataDirectory, checkpoints, logDirectory, cancellationToken).ConfigureAwait(false);
            var registryIdPath = Path.Combine(dataDirectory, "registry-id");
            if (!inspection.IsComplete)
            {
                if (!options.AcceptDataLoss)
                {
                    var error = new DataDirectoryDamagedException(dataDirectory, inspection.Damage, inspection.ReadableEnd, inspection.KnownRevision);
                    LogRefused(logger, error.Message);
                    throw error;
                }

                await AcceptDataLossAsync(dataDirectory, inspection, checkpoints, logDirectory, registryIdPath, options, cancellationToken).ConfigureAwait(false);
                inspection = await DataDirectoryInspection.InspectAsync(dataDirectory, checkpoints, logDirectory, cancellationToken).ConfigureAwait(false);
                if (!inspection.IsComplete)
                {
                    throw new DataDirectoryDamagedException(dataDirectory, inspection.Damage, inspection.ReadableEnd, inspection.KnownRevision);
                }
            }
            else if (inspection.DamagedFiles.Count > 0)
            {
                var folder = SetAside(dataDirectory, inspection.DamagedFiles, inspection.Damage, options.Time, copy: false);
                foreach (var damage in inspection.Damage)
                {
                    LogUnneededDamage(logger, damage, folder);
                }
            }

            if (inspection.TornTail is { } torn)
            {
                LogTornTail(logger, Path.GetRelativePath(dataDirectory, torn.Path), torn.FileLength - torn.ValidLength, torn.LastValidPosition);
            }

            var identity = new RegistryIdentity(
                await ReadOrCreateIdAsync(logger, registryIdPath, cancellationToken).ConfigureAwait(false),
                await ReadOrCreateIdAsync(logger, Path.Combine(dataDirectory, "node-id"), cancellationToken).ConfigureAwait(false));
            var log = FileChangeLog.Open(logDirectory, inspection.KnownRevision, options.SegmentBytes);
            return new NodeStorage(log, checkpoints, inspection.Start, identity, @lock);
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

    /// <summary>
    /// The operator accepted the loss: rebuild the registry as of the last revision readable without a gap,
    /// move its revision past everything the directory shows, and take a new registry id so that no revision
    /// a client saw is ever reused for a different change. The old files are copied aside before anything
    /// is removed, and each step leaves a directory that recovers to the same result if it is interrupted.
    /// </summary>
    private static async Task AcceptDataLossAsync(
        string dataDirectory,
        DataDirectoryInspection inspection,
        FileCheckpointStore checkpoints,
        string logDirectory,
        string registryIdPath,
        DataDirectoryOptions options,
        CancellationToken cancellationToken)
    {
        var originals = inspection.Segments.Select(s => s.Path).Concat(checkpoints.List().Select(c => c.Path)).ToList();
        var folder = SetAside(dataDirectory, originals, inspection.Damage, options.Time, copy: true);

        var machine = new RegistryStateMachine(inspection.Start?.State ?? RegistryState.Empty);
        var events = new List<ChangeEvent>();
        foreach (var batch in FileChangeLog.ReadRange(logDirectory, inspection.StartRevision + 1, inspection.ReadableEnd))
        {
            foreach (var record in batch)
            {
                events.Clear();
                machine.Apply(record.Position, record.Envelope.Change, events, record.Envelope.Origin, record.Envelope.AcceptedAt, record.Envelope.Author);
            }
        }

        var continueAfter = Math.Max(inspection.KnownRevision, inspection.ReadableEnd);
        await WriteIdAsync(registryIdPath, RegistryIdentity.NewId(), cancellationToken).ConfigureAwait(false);
        var restarted = machine.State with { Revision = continueAfter };
        await checkpoints.SaveAsync(new Checkpoint(restarted, [], continueAfter), cancellationToken).ConfigureAwait(false);
        foreach (var path in originals.Where(p => p != Path.Combine(checkpoints.Directory, FileCheckpointStore.FileName(continueAfter))))
        {
            File.Delete(path);
        }

        foreach (var damage in inspection.Damage.Where(d => d.Needed))
        {
            LogDataLossAccepted(options.Logger, damage);
        }

        LogDataLossSummary(options.Logger, inspection.ReadableEnd, inspection.ReadableEnd + 1, continueAfter, restarted.InstanceCount, folder);
    }

    /// <summary>Moves (or copies) <paramref name="files"/> into <c>damaged/{time}/</c> with a report of what was found.</summary>
    private static string SetAside(string dataDirectory, IReadOnlyList<string> files, IReadOnlyList<StorageDamage> damage, TimeProvider time, bool copy)
    {
        var stamp = time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var folder = Path.Combine(dataDirectory, SetAsideFolder, stamp);
        for (var n = 2; Directory.Exists(folder); n++)
        {
            folder = Path.Combine(dataDirectory, SetAsideFolder, $"{stamp}-{n}");
        }

        foreach (var file in files)
        {
            var target = Path.Combine(folder, Path.GetRelativePath(dataDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (copy)
            {
                File.Copy(file, target);
            }
            else
            {
                File.Move(file, target);
            }
        }

        File.WriteAllLines(Path.Combine(folder, "report.txt"), damage.Select(d => d.ToString()));
        return Path.GetRelativePath(dataDirectory, folder);
    }

    /// <summary>A checkpoint or id interrupted by a crash or a full disk leaves a temporary file; nothing reads
    /// them, and left behind they would keep a full disk full.</summary>
    private static void RemoveTemporaryFiles(ILogger logger, params string[] directories)
    {
        foreach (var directory in directories.Where(Directory.Exists))
        {
            foreach (var path in Directory.EnumerateFiles(directory, "*" + FileCheckpointStore.TemporaryExtension))
            {
                var bytes = new FileInfo(path).Length;
                File.Delete(path);
                LogTemporaryFileRemoved(logger, path, bytes);
            }
        }
    }

    private static async Task<string> ReadOrCreateIdAsync(ILogger logger, string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            var existing = (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
            if (RegistryIdentity.IsValidId(existing))
            {
                return existing;
            }

            // An id is not registry data: a new registry id makes clients resync, which is always safe.
            LogIdReplaced(logger, path);
        }

        var id = RegistryIdentity.NewId();
        await WriteIdAsync(path, id, cancellationToken).ConfigureAwait(false);
        return id;
    }

    private static async Task WriteIdAsync(string path, string id, CancellationToken cancellationToken)
    {
        var temporary = path + FileCheckpointStore.TemporaryExtension;
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(id + "\n"), cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogRefused(ILogger logger, string message);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Damage the node does not need, set aside in {Folder}: {Damage}")]
    private static partial void LogUnneededDamage(ILogger logger, StorageDamage damage, string folder);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Cut {Bytes} bytes from the end of {Segment}: a write interrupted by a crash, never acknowledged; the log continues after revision {Revision}")]
    private static partial void LogTornTail(ILogger logger, string segment, long bytes, long revision);

    [LoggerMessage(EventId = 23, Level = LogLevel.Critical, Message = "Data loss accepted: {Damage}")]
    private static partial void LogDataLossAccepted(ILogger logger, StorageDamage damage);

    [LoggerMessage(EventId = 24, Level = LogLevel.Critical, Message = "Data loss accepted: the registry was kept as of revision {KeptUpTo} ({Instances} instances); revisions {FirstDropped} to {LastDropped} are dropped; new writes start after {LastDropped} under a new registry id; the original files are in {Folder}")]
    private static partial void LogDataLossSummary(ILogger logger, long keptUpTo, long firstDropped, long lastDropped, int instances, string folder);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Removed {Path} ({Bytes} bytes), left by an interrupted write")]
    private static partial void LogTemporaryFileRemoved(ILogger logger, string path, long bytes);

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning, Message = "{Path} did not hold a valid id; a new one was written (clients resync)")]
    private static partial void LogIdReplaced(ILogger logger, string path);
}
