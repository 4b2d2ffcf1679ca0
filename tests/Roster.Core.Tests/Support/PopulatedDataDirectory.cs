using Microsoft.Extensions.Logging.Abstractions;
using Roster.Core.Log;
using Roster.Core.Model;
using Roster.Core.Node;

namespace Roster.Core.Tests.Support;

/// <summary>
/// A data directory filled by a real node with a mix of registrations, updates, operator changes and
/// deregistrations, stopped gracefully, plus what every later start must find in it.
/// </summary>
internal sealed class PopulatedDataDirectory : IDisposable
{
    public const long SegmentBytes = 16 * 1024;

    private PopulatedDataDirectory(string path, string expected, long revision, string registryId)
    {
        Path = path;
        Expected = expected;
        Revision = revision;
        RegistryId = registryId;
    }

    public string Path { get; }

    /// <summary>The registry as the node acknowledged it last (<see cref="Describe"/>).</summary>
    public string Expected { get; }

    /// <summary>The last acknowledged revision.</summary>
    public long Revision { get; }

    public string RegistryId { get; }

    public static RegistryNodeOptions NodeOptions(long checkpointInterval) => new()
    {
        CheckpointInterval = checkpointInterval,
        ExpiryScanInterval = TimeSpan.FromDays(1),
        KeepAliveInterval = TimeSpan.FromDays(1),
    };

    /// <summary>Writes <paramref name="changes"/> changes over <paramref name="instances"/> ids, 32 at a time.</summary>
    public static async Task<PopulatedDataDirectory> CreateAsync(int changes, int instances, long checkpointInterval, long segmentBytes = SegmentBytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "roster-populated-" + Guid.NewGuid().ToString("N"));
        var random = new Random(changes);
        await using var node = await StartAsync(path, checkpointInterval, segmentBytes);
        for (var done = 0; done < changes;)
        {
            var batch = Enumerable.Range(done, Math.Min(32, changes - done)).Select(i => node.SubmitAsync(NextChange(random, i, instances), CancellationToken.None));
            await Task.WhenAll(batch);
            done += 32;
        }

        var expected = Describe(node.State);
        var revision = node.State.Revision;
        var registryId = node.RegistryId;
        return new PopulatedDataDirectory(path, expected, revision, registryId);
    }

    public static async Task<RegistryNode> StartAsync(string path, long checkpointInterval = 200_000, long segmentBytes = SegmentBytes, bool acceptDataLoss = false)
    {
        var storage = await NodeStorage.OpenDirectoryAsync(
            path, new DataDirectoryOptions { SegmentBytes = segmentBytes, AcceptDataLoss = acceptDataLoss }, CancellationToken.None);
        var node = await RegistryNode.StartAsync(storage, NodeOptions(checkpointInterval), new ManualTimeProvider(), NullLogger.Instance, CancellationToken.None);
        await node.WhenReady.WaitAsync(TimeSpan.FromSeconds(30));
        return node;
    }

    /// <summary>Copies the directory to a new temporary path.</summary>
    public string CopyTo(string name)
    {
        var target = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"roster-{name}-{Guid.NewGuid():N}");
        foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
        {
            var copy = System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(Path, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        return target;
    }

    /// <summary>Every namespace, service and instance with what a client could observe of it.</summary>
    public static string Describe(RegistryState state) =>
        string.Join('\n', state.Namespaces.Values.SelectMany(ns => ns.Services.Values.Select(s =>
            $"{ns.Name}/{s.Name} seq={s.Sequence} digest={s.Digest:x16} " +
            string.Join(',', s.Instances.Values.Select(i => $"{i.Id}@{i.Incarnation}:{i.Registration.Port}:{i.Operator.Drained}")))));

    /// <summary>Every file under <paramref name="directory"/> (but the lock) with a hash of its content: equal
    /// snapshots mean nothing was changed.</summary>
    public static string Snapshot(string directory) =>
        string.Join('\n', Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => System.IO.Path.GetFileName(f) != "lock")
            .Order(StringComparer.Ordinal)
            .Select(f => $"{System.IO.Path.GetRelativePath(directory, f)} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}"));

    public static Task<Roster.Core.StateMachine.ApplyOutcome> RegisterAsync(RegistryNode node, string id, int port) =>
        node.SubmitAsync(new RegisterChange(new InstanceKey("prod", "orders", id), Registrations.Persistent(port: port), 0), CancellationToken.None);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }

    private static Change NextChange(Random random, int i, int instances)
    {
        var key = new InstanceKey(random.Next(3) == 0 ? "staging" : "prod", "svc-" + random.Next(4), "i" + random.Next(instances));
        return random.Next(10) switch
        {
            0 => new DeregisterChange(key, 0),
            1 => new OperatorChange(key, new OperatorPatch(random.Next(2) == 0, null, null, false)),
            _ => new RegisterChange(key, Registrations.Persistent(port: 1 + (i % 60000)), 0),
        };
    }
}
