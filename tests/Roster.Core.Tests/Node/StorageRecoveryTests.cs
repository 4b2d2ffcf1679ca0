using Roster.Core.Node;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Node;

/// <summary>
/// Recovery of a damaged data directory: the node starts with every acknowledged write, or refuses to
/// start naming the file and the revisions, and never reuses a revision. The first three tests are the
/// cases measured when the integrity issue was filed.
/// </summary>
public sealed class StorageRecoveryTests : IDisposable
{
    private readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (var directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task OnlyCheckpointDamaged_StartsWithEverything_FromTheLogItKeptForThat()
    {
        // No periodic checkpoint: the graceful stop writes the only one. The log before it must stay, or a
        // damaged checkpoint leaves nothing to fall back to (measured: 3,765 of 20,000 instances came back).
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 2000, checkpointInterval: 1_000_000);
        var checkpoint = Assert.Single(Directory.GetFiles(Path.Combine(populated.Path, "checkpoints"), "*.ckpt"));
        Assert.Contains(Directory.GetFiles(Path.Combine(populated.Path, "log"), "*.seg"), s => s.EndsWith("00000000000000000001.seg", StringComparison.Ordinal));
        FlipLastBytes(checkpoint, 8);

        await using var node = await PopulatedDataDirectory.StartAsync(populated.Path);

        Assert.Equal(populated.Revision, node.State.Revision);
        Assert.Equal(populated.Expected, PopulatedDataDirectory.Describe(node.State));
        Assert.True(Directory.Exists(Path.Combine(populated.Path, "damaged")), "the damaged checkpoint is set aside");
    }

    [Fact]
    public async Task ClosedSegmentDamagedInTheMiddle_RefusesToStart_NamingTheFileAndTheRevisions_AndChangesNothing()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 2000, checkpointInterval: 1_000_000);
        RemoveNewestCheckpoint(populated.Path); // as after a crash: the log is all there is
        var segments = Segments(populated.Path);
        Assert.True(segments.Length > 2);
        var closed = segments[0];
        var bytes = await File.ReadAllBytesAsync(closed);
        for (var i = 0; i < 8; i++)
        {
            bytes[(bytes.Length / 2) + i] ^= 0x5A;
        }

        await File.WriteAllBytesAsync(closed, bytes);
        var before = PopulatedDataDirectory.Snapshot(populated.Path);

        var error = await Assert.ThrowsAsync<DataDirectoryDamagedException>(() => PopulatedDataDirectory.StartAsync(populated.Path));

        var damage = Assert.Single(error.Damage, d => d.Needed);
        Assert.Equal(Path.Combine("log", Path.GetFileName(closed)), damage.File);
        Assert.True(damage.FirstRevision > 1 && damage.LastRevision < populated.Revision, damage.ToString());
        Assert.Contains(Path.GetFileName(closed), error.Message, StringComparison.Ordinal);
        Assert.Contains("--accept-data-loss", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, PopulatedDataDirectory.Snapshot(populated.Path));
    }

    [Fact]
    public async Task NewestSegmentDamagedInTheMiddle_RefusesToStart_AndKeepsTheValidRecordsAfterTheDamage()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 2000, checkpointInterval: 1_000_000, segmentBytes: 64L * 1024 * 1024);
        RemoveNewestCheckpoint(populated.Path);
        var segment = Assert.Single(Segments(populated.Path));
        var length = new FileInfo(segment).Length;
        FlipMiddleBytes(segment, 8);

        var error = await Assert.ThrowsAsync<DataDirectoryDamagedException>(() => PopulatedDataDirectory.StartAsync(populated.Path));

        var damage = Assert.Single(error.Damage, d => d.Needed);
        Assert.Equal(populated.Revision, damage.LastRevision);
        Assert.Equal(length, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task AcceptDataLoss_KeepsWhatIsIntact_AndNeverReusesARevision()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 2000, checkpointInterval: 1_000_000, segmentBytes: 64L * 1024 * 1024);
        RemoveNewestCheckpoint(populated.Path);
        var segment = Assert.Single(Segments(populated.Path));
        FlipMiddleBytes(segment, 8);
        var refused = await Assert.ThrowsAsync<DataDirectoryDamagedException>(() => PopulatedDataDirectory.StartAsync(populated.Path));
        var lost = refused.Damage.Single(d => d.Needed);

        long firstNewRevision;
        await using (var node = await PopulatedDataDirectory.StartAsync(populated.Path, acceptDataLoss: true))
        {
            Assert.NotEqual(populated.RegistryId, node.RegistryId);
            Assert.Equal(populated.Revision, node.State.Revision);
            Assert.True(node.State.InstanceCount > 0);
            firstNewRevision = (await PopulatedDataDirectory.RegisterAsync(node, "after-loss", 4242)).Revision;
        }

        Assert.True(firstNewRevision > populated.Revision, $"revision {firstNewRevision} was acknowledged before the loss");
        var setAside = Directory.GetDirectories(Path.Combine(populated.Path, "damaged")).Single();
        Assert.True(File.Exists(Path.Combine(setAside, "log", Path.GetFileName(segment))), "the damaged segment is kept for inspection");
        Assert.Contains($"revisions {lost.FirstRevision} to {lost.LastRevision}", await File.ReadAllTextAsync(Path.Combine(setAside, "report.txt")), StringComparison.Ordinal);

        // The accepted state is a normal directory again: it restarts without damage and with the new write.
        await using var again = await PopulatedDataDirectory.StartAsync(populated.Path);
        Assert.Equal(firstNewRevision, again.State.Revision);
        Assert.NotNull(again.State.FindInstance(new Roster.Core.Model.InstanceKey("prod", "orders", "after-loss")));
    }

    [Fact]
    public async Task TornTailAfterACrash_IsCut_AndEveryAcknowledgedWriteStays()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 500, instances: 200, checkpointInterval: 1_000_000);
        RemoveNewestCheckpoint(populated.Path);
        var newest = Segments(populated.Path)[^1];
        await using (var file = new FileStream(newest, FileMode.Append))
        {
            // Half a record: a header that promises 300 bytes, and 40 of them.
            var partial = new byte[16 + 40];
            BitConverter.TryWriteBytes(partial.AsSpan(0, 4), 300u);
            BitConverter.TryWriteBytes(partial.AsSpan(8, 8), populated.Revision + 1);
            Random.Shared.NextBytes(partial.AsSpan(16));
            await file.WriteAsync(partial);
        }

        await using var node = await PopulatedDataDirectory.StartAsync(populated.Path);

        Assert.Equal(populated.Revision, node.State.Revision);
        Assert.Equal(populated.Expected, PopulatedDataDirectory.Describe(node.State));
        Assert.Equal(populated.Revision + 1, (await PopulatedDataDirectory.RegisterAsync(node, "next", 1)).Revision);
    }

    [Fact]
    public async Task LeftoverTemporaryFiles_AreRemovedAtStart()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 100, instances: 50, checkpointInterval: 1_000_000);
        var leftover = Path.Combine(populated.Path, "checkpoints", "00000000000000000099.ckpt.tmp");
        await File.WriteAllBytesAsync(leftover, new byte[1 << 20]);

        await using var node = await PopulatedDataDirectory.StartAsync(populated.Path);

        Assert.False(File.Exists(leftover));
        Assert.Equal(populated.Expected, PopulatedDataDirectory.Describe(node.State));
    }

    [Fact]
    public async Task Checkpoints_TheNewestTwoAreKept_AndTheLogAfterTheOlderOne()
    {
        using var populated = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 100, checkpointInterval: 400);
        var checkpoints = Directory.GetFiles(Path.Combine(populated.Path, "checkpoints"), "*.ckpt").Select(Revision).Order().ToArray();
        Assert.Equal(2, checkpoints.Length);
        Assert.Equal(populated.Revision, checkpoints[1]);
        var firstInLog = Segments(populated.Path).Select(Revision).Min();
        Assert.True(firstInLog <= checkpoints[0] + 1, $"the log starts at {firstInLog}, after the older checkpoint {checkpoints[0]}");
    }

    private static long Revision(string path) => long.Parse(Path.GetFileName(path).Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string[] Segments(string directory) =>
        Directory.GetFiles(Path.Combine(directory, "log"), "*.seg").Order(StringComparer.Ordinal).ToArray();

    private static void RemoveNewestCheckpoint(string directory) =>
        File.Delete(Directory.GetFiles(Path.Combine(directory, "checkpoints"), "*.ckpt").Order(StringComparer.Ordinal).Last());

    private static void FlipLastBytes(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = bytes.Length - count; i < bytes.Length; i++)
        {
            bytes[i] ^= 0xFF;
        }

        File.WriteAllBytes(path, bytes);
    }

    private static void FlipMiddleBytes(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = 0; i < count; i++)
        {
            bytes[(bytes.Length / 2) + i] ^= 0xFF;
        }

        File.WriteAllBytes(path, bytes);
    }
}
