using Roster.Core.Node;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// Damage found in a data directory.
/// </summary>
/// <param name="File">The file (relative to the data directory) where it is.</param>
/// <param name="What">What is wrong, in words.</param>
/// <param name="FirstRevision">First revision that cannot be read because of it (0 when none).</param>
/// <param name="LastRevision">Last revision that cannot be read because of it (0 when none).</param>
/// <param name="Needed">True when starting would lose acknowledged writes; false when a readable checkpoint
/// covers what was lost, so the node can start complete.</param>
public sealed record StorageDamage(string File, string What, long FirstRevision, long LastRevision, bool Needed)
{
    public override string ToString() =>
        FirstRevision > 0
            ? $"{File}: {What} (revisions {FirstRevision} to {LastRevision}{(Needed ? "" : ", covered by a newer checkpoint")})"
            : $"{File}: {What}";
}

/// <summary>
/// What a data directory holds, found without changing it: the newest readable checkpoint, how far the
/// log after it can be read without a gap, and every piece of damage.
/// <para>
/// The rule: the node may start only from a readable checkpoint (or from nothing) plus a log that
/// continues it without a gap up to <see cref="KnownRevision"/>, the highest revision the directory shows
/// the registry reached (checkpoint names, segment names, readable records anywhere). Anything short of
/// that is acknowledged writes missing, and starting would serve less than was acknowledged and later reuse
/// revisions for different changes.
/// </para>
/// </summary>
internal sealed class DataDirectoryInspection
{
    private DataDirectoryInspection(
        Checkpoint? start,
        string? startPath,
        long knownRevision,
        long readableEnd,
        IReadOnlyList<SegmentScan> segments,
        IReadOnlyList<StorageDamage> damage,
        IReadOnlyList<string> damagedFiles)
    {
        Start = start;
        StartPath = startPath;
        KnownRevision = knownRevision;
        ReadableEnd = readableEnd;
        Segments = segments;
        Damage = damage;
        DamagedFiles = damagedFiles;
    }

    /// <summary>The newest readable checkpoint; null to start from an empty registry.</summary>
    public Checkpoint? Start { get; }

    public string? StartPath { get; }

    public long StartRevision => Start?.State.Revision ?? 0;

    /// <summary>The highest revision the directory shows the registry reached.</summary>
    public long KnownRevision { get; }

    /// <summary>The last revision readable without a gap from <see cref="Start"/>.</summary>
    public long ReadableEnd { get; }

    public IReadOnlyList<SegmentScan> Segments { get; }

    public IReadOnlyList<StorageDamage> Damage { get; }

    /// <summary>Files with damage (full paths): set aside when the node starts.</summary>
    public IReadOnlyList<string> DamagedFiles { get; }

    /// <summary>True when the node can start with every acknowledged write.</summary>
    public bool IsComplete => Damage.All(d => !d.Needed);

    public SegmentScan? TornTail => Segments.Count > 0 && Segments[^1].Condition == SegmentCondition.TornTail ? Segments[^1] : null;

    public static async Task<DataDirectoryInspection> InspectAsync(string dataDirectory, FileCheckpointStore checkpoints, string logDirectory, CancellationToken cancellationToken)
    {
        var report = new List<StorageDamage>();
        var damagedFiles = new List<string>();
        string Relative(string path) => Path.GetRelativePath(dataDirectory, path);

        var files = FileChangeLog.ListSegments(logDirectory);
        var segments = new List<SegmentScan>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            segments.Add(SegmentScan.Of(files[i].Path, files[i].FirstPosition, isNewest: i == files.Count - 1));
        }

        // Newest readable checkpoint first; every checkpoint name is evidence of a revision reached.
        var known = 0L;
        Checkpoint? start = null;
        string? startPath = null;
        foreach (var (revision, path) in checkpoints.List())
        {
            known = Math.Max(known, revision);
            if (start is not null)
            {
                continue;
            }

            start = await FileCheckpointStore.TryLoadAsync(path, revision, cancellationToken).ConfigureAwait(false);
            if (start is null)
            {
                report.Add(new StorageDamage(Relative(path), $"the checkpoint of revision {revision} is unreadable", 0, 0, Needed: false));
                damagedFiles.Add(path);
            }
            else
            {
                startPath = path;
            }
        }

        var startRevision = start?.State.Revision ?? 0;

        // Ranges the log cannot supply. A gap is the log starting late or ending early: normal where a
        // checkpoint covers it. Damage is a file that is not what was written.
        var missing = new List<(string Path, string What, long First, long Last, bool IsGap)>();
        for (var i = 0; i < segments.Count; i++)
        {
            var scan = segments[i];
            known = Math.Max(known, Math.Max(scan.FirstPosition - 1, scan.LastValidPosition));
            if (i == 0 && scan.FirstPosition > 1)
            {
                missing.Add((scan.Path, $"the log starts at revision {scan.FirstPosition}", 1, scan.FirstPosition - 1, true));
            }

            if (i + 1 < segments.Count)
            {
                var claimedEnd = segments[i + 1].FirstPosition - 1;
                if (scan.Condition == SegmentCondition.Corrupt || scan.LastValidPosition < claimedEnd)
                {
                    missing.Add((scan.Path, scan.Damage ?? $"the segment ends at revision {scan.LastValidPosition}, before the next one starts",
                        scan.LastValidPosition + 1, claimedEnd, false));
                }
                else if (scan.LastValidPosition > claimedEnd)
                {
                    missing.Add((segments[i + 1].Path, $"it starts at revision {segments[i + 1].FirstPosition}, inside the segment before it",
                        segments[i + 1].FirstPosition, scan.LastValidPosition, false));
                }
            }
            else if (scan.Condition == SegmentCondition.Corrupt)
            {
                var last = Math.Max(scan.LastValidPosition + 1, scan.HighestPositionAfterDamage ?? 0);
                known = Math.Max(known, last);
                missing.Add((scan.Path, scan.Damage!, scan.LastValidPosition + 1, last, false));
            }
        }

        var logEnd = segments.Count == 0 ? 0
            : segments[^1].Condition == SegmentCondition.Corrupt ? Math.Max(segments[^1].LastValidPosition + 1, segments[^1].HighestPositionAfterDamage ?? 0)
            : segments[^1].LastValidPosition;
        if (logEnd < known)
        {
            missing.Add((segments.Count > 0 ? segments[^1].Path : logDirectory,
                $"the log ends at revision {logEnd} but the data directory shows revision {known} was reached",
                logEnd + 1, known, true));
        }

        foreach (var (path, what, first, last, isGap) in missing)
        {
            // Needed: inside what the node must replay, after its checkpoint and up to the known revision.
            var needed = last > startRevision && first <= known;
            if (isGap && !needed)
            {
                continue;
            }

            report.Add(new StorageDamage(Relative(path), what, needed ? Math.Max(first, startRevision + 1) : first, needed ? Math.Min(last, known) : last, needed));
            if (!isGap && !needed)
            {
                damagedFiles.Add(path);
            }
        }

        var readableEnd = ContiguousEnd(segments, startRevision);
        return new DataDirectoryInspection(start, startPath, Math.Max(known, startRevision), readableEnd, segments, report, damagedFiles.Distinct().ToList());
    }

    /// <summary>The last revision the log supplies without a gap after <paramref name="startRevision"/>.</summary>
    private static long ContiguousEnd(IReadOnlyList<SegmentScan> segments, long startRevision)
    {
        var end = startRevision;
        for (var i = 0; i < segments.Count; i++)
        {
            var scan = segments[i];
            if (scan.LastValidPosition <= end)
            {
                continue;
            }

            if (scan.FirstPosition > end + 1)
            {
                break;
            }

            end = scan.LastValidPosition;
            var endsEarly = i + 1 < segments.Count && scan.LastValidPosition != segments[i + 1].FirstPosition - 1;
            if (scan.Condition == SegmentCondition.Corrupt || endsEarly)
            {
                break;
            }
        }

        return end;
    }
}
