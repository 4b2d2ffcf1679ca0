using System.Globalization;
using Roster.Core.Log.Embedded;
using Roster.Core.Node;
using Roster.Core.Tests.Support;
using Xunit.Abstractions;

namespace Roster.Core.Tests.Node;

/// <summary>
/// Damages a populated data directory at random, the way etcd's robustness suite uses lazyfs: flips,
/// zeroes, truncates or removes bytes, or deletes a whole file, in the log segments, the checkpoints and
/// the id files. For every case the node must either start with every acknowledged write and continue
/// above the last acknowledged revision, or refuse to start with <see cref="DataDirectoryDamagedException"/>
/// and leave the directory as it was. It must never start with less.
/// <para>
/// Two directories are damaged: one after a graceful stop (a checkpoint covers everything) and one as a
/// crash leaves it (the newest checkpoint gone, so the end of the log is all there is). In the second, a
/// fault that leaves the newest segment a prefix of itself, possibly followed by zeros, is exactly what a
/// crash before those writes leaves, and no log without an extra fsync per write can tell the two apart:
/// those cases are counted, not asserted (see docs/storage.md, "What recovery cannot see").
/// </para>
/// <para>
/// The seed is printed; set <c>ROSTER_FAULT_SEED</c> to replay a run, <c>ROSTER_FAULT_CASES</c> for more cases.
/// </para>
/// </summary>
public sealed class StorageFaultInjectionTests(ITestOutputHelper output)
{
    private static readonly int CasesPerDirectory =
        int.TryParse(Environment.GetEnvironmentVariable("ROSTER_FAULT_CASES"), CultureInfo.InvariantCulture, out var cases) ? cases : 120;

    [Fact]
    public async Task RandomDamage_EitherStartsWithEveryAcknowledgedWrite_OrRefusesToStart()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ROSTER_FAULT_SEED"), CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (ROSTER_FAULT_SEED={seed} replays this run)");
        var random = new Random(seed);

        using var graceful = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 40, checkpointInterval: 1200);
        using var crashed = await PopulatedDataDirectory.CreateAsync(changes: 3000, instances: 40, checkpointInterval: 1200);
        File.Delete(Directory.GetFiles(Path.Combine(crashed.Path, "checkpoints"), "*.ckpt").Order(StringComparer.Ordinal).Last());
        foreach (var (populated, name) in new[] { (graceful, "graceful"), (crashed, "crashed") })
        {
            output.WriteLine($"{name}: revision {populated.Revision}, files: " + string.Join(' ',
                Directory.EnumerateFiles(populated.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(populated.Path, f)).Order(StringComparer.Ordinal)));
        }

        var tally = new Dictionary<string, int>();
        var failures = new List<string>();
        foreach (var (populated, name) in new[] { (graceful, "graceful"), (crashed, "crashed") })
        {
            for (var i = 0; i < CasesPerDirectory; i++)
            {
                var directory = populated.CopyTo("fault");
                try
                {
                    var fault = Fault.Apply(random, directory);
                    var outcome = await RunCaseAsync(populated, directory, fault, crashLike: name == "crashed");
                    var key = $"{name} {outcome.Kind}";
                    tally[key] = tally.GetValueOrDefault(key) + 1;
                    if (outcome.Failure is { } failure)
                    {
                        failures.Add($"{name} case {i}: {fault}: {failure}");
                    }
                }
                finally
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }

        foreach (var (kind, count) in tally.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{kind}: {count}");
        }

        Assert.True(failures.Count == 0, $"seed {seed}:\n" + string.Join('\n', failures));
        Assert.True(tally.Where(t => t.Key.EndsWith("refused", StringComparison.Ordinal)).Sum(t => t.Value) > 0, "some damage must be refused");
        Assert.True(tally.Where(t => t.Key.EndsWith("started", StringComparison.Ordinal)).Sum(t => t.Value) > 0, "some damage must be survivable");
    }

    private static async Task<(string Kind, string? Failure)> RunCaseAsync(PopulatedDataDirectory populated, string directory, Fault fault, bool crashLike)
    {
        var before = PopulatedDataDirectory.Snapshot(directory);
        RegistryNode node;
        try
        {
            node = await PopulatedDataDirectory.StartAsync(directory);
        }
        catch (DataDirectoryDamagedException refused)
        {
            if (PopulatedDataDirectory.Snapshot(directory) != before)
            {
                return ("refused", "the refusal changed the data directory");
            }

            return refused.Message.Contains(fault.File, StringComparison.Ordinal) || fault.Deleted
                ? ("refused", null)
                : ("refused", $"the refusal does not name {fault.File}: {refused.Message}");
        }

        await using (node)
        {
            if (crashLike && fault.LeavesPrefixOfNewestSegment)
            {
                return ("crash-equivalent", null);
            }

            var described = PopulatedDataDirectory.Describe(node.State);
            if (described != populated.Expected || node.State.Revision != populated.Revision)
            {
                return ("started", $"started at revision {node.State.Revision} of {populated.Revision} with a different registry");
            }

            var next = await PopulatedDataDirectory.RegisterAsync(node, "after-damage", 7);
            return next.Revision > populated.Revision
                ? ("started", null)
                : ("started", $"reused revision {next.Revision} (acknowledged up to {populated.Revision})");
        }
    }

    /// <summary>One random fault applied to one file of a data directory.</summary>
    private sealed record Fault(string File, string What, bool Deleted, bool LeavesPrefixOfNewestSegment)
    {
        public override string ToString() => $"{What} in {File}";

        public static Fault Apply(Random random, string directory)
        {
            var segments = Directory.GetFiles(Path.Combine(directory, "log"), "*.seg").Order(StringComparer.Ordinal).ToList();
            var checkpointDirectory = Path.Combine(directory, "checkpoints");
            var checkpoints = Directory.Exists(checkpointDirectory) ? Directory.GetFiles(checkpointDirectory, "*.ckpt").ToList() : [];
            var roll = random.Next(100);
            var path = roll switch
            {
                < 60 => segments[random.Next(segments.Count)],
                < 70 => segments[^1],
                < 94 when checkpoints.Count > 0 => checkpoints[random.Next(checkpoints.Count)],
                < 94 => segments[random.Next(segments.Count)],
                < 97 => Path.Combine(directory, "registry-id"),
                _ => Path.Combine(directory, "node-id"),
            };
            var relative = Path.GetRelativePath(directory, path);
            var original = System.IO.File.ReadAllBytes(path);
            var isNewestSegment = path == segments[^1];
            if (random.Next(12) == 0)
            {
                System.IO.File.Delete(path);
                return new Fault(relative, "deleted the file", true, isNewestSegment);
            }

            var bytes = original.ToArray();
            var at = random.Next(Math.Max(1, bytes.Length));
            string what;
            switch (random.Next(4))
            {
                case 0:
                    var flips = 1 + random.Next(8);
                    for (var i = 0; i < flips && at + i < bytes.Length; i++)
                    {
                        bytes[at + i] ^= (byte)(1 + random.Next(255));
                    }

                    what = $"flipped {flips} bytes at {at}";
                    break;
                case 1:
                    var zeros = 1 + random.Next(random.Next(2) == 0 ? 16 : 4096);
                    bytes.AsSpan(at, Math.Min(zeros, bytes.Length - at)).Clear();
                    what = $"zeroed {zeros} bytes at {at}";
                    break;
                case 2:
                    bytes = bytes[..at];
                    what = $"truncated to {at} of {original.Length} bytes";
                    break;
                default:
                    var removed = 1 + random.Next(64);
                    bytes = [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + removed)..]];
                    what = $"removed {removed} bytes at {at}";
                    break;
            }

            System.IO.File.WriteAllBytes(path, bytes);
            return new Fault(relative, what, false, isNewestSegment && (IsPrefixThenZeros(original, bytes) || EndsInsideLastRecord(original, bytes)));
        }

        /// <summary>
        /// Damage confined to the last record of the newest segment, with the file ending inside that record: the
        /// recovery cannot tell it from a last write torn by a crash (a prefix of the record, then whatever the disk
        /// held), so it cuts the record like one. Counted with the crash-like outcomes.
        /// </summary>
        private static bool EndsInsideLastRecord(byte[] original, byte[] damaged)
        {
            var offset = 0;
            var lastStart = 0;
            while (SegmentFormat.ReadRecord(original, offset, out _, out var length) == RecordStatus.Valid)
            {
                lastStart = offset;
                offset += SegmentFormat.HeaderSize + length;
            }

            return damaged.Length < original.Length && original.AsSpan().CommonPrefixLength(damaged) >= lastStart;
        }

        /// <summary>What a crash can leave of a file being appended to: a prefix of it, then zeros or nothing.</summary>
        private static bool IsPrefixThenZeros(byte[] original, byte[] damaged)
        {
            var common = original.AsSpan().CommonPrefixLength(damaged);
            return !damaged.AsSpan(common).ContainsAnyExcept((byte)0);
        }
    }
}
