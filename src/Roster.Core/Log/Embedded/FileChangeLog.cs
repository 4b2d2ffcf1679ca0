using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Roster.Core.Serialization;

namespace Roster.Core.Log.Embedded;

/// <summary>
/// The embedded change log: checksummed records appended to segment files under one directory.
/// <para>
/// Group commit: appends from all callers queue to one writer thread, which writes everything queued in
/// one write and one fsync, then completes every caller in the batch. The writer is a dedicated thread,
/// not a pool thread, because it blocks in write and fsync. Under load the batch grows, so
/// durability costs one fsync per batch rather than per change.
/// </para>
/// <para>
/// Recovery: on open, the last segment is scanned and cut at the first torn or corrupt record; earlier
/// segments were fsynced and closed before the next one was created.
/// </para>
/// </summary>
public sealed class FileChangeLog : IChangeLog
{
    private const int MaxEntriesPerBatch = 8192;

    private readonly string _directory;
    private readonly long _segmentBytes;
    // Appends wait here for the writer thread. A queue and a semaphore rather than a channel, because
    // the writer is a dedicated thread that blocks (write, fsync) and so must not be a pool thread.
    private readonly ConcurrentQueue<AppendRequest> _requests = new();
    private readonly SemaphoreSlim _requested = new(0);
    private readonly CancellationTokenSource _closing = new();
    private volatile bool _closed;

    // Guards _committedPosition, _live and _activeSegmentFirst. Held only for field updates and
    // non-blocking channel writes: never across I/O or an await.
    private readonly Lock _commitLock = new();
    private long _committedPosition;
    private long _activeSegmentFirst;
    private Channel<LogRecord[]>? _live;

    private readonly Thread _writer;
    private FileStream _segment;
    private long _nextPosition;

    private FileChangeLog(string directory, long segmentBytes, FileStream segment, long activeSegmentFirst, long lastPosition)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        _segment = segment;
        _activeSegmentFirst = activeSegmentFirst;
        _committedPosition = lastPosition;
        _nextPosition = lastPosition + 1;
        _writer = new Thread(RunWriter) { IsBackground = true, Name = "roster-log-writer" };
        _writer.Start();
    }

    /// <summary>The position of the last durable entry.</summary>
    public long LastPosition
    {
        get
        {
            lock (_commitLock)
            {
                return _committedPosition;
            }
        }
    }

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, creating it if needed, and repairs a torn tail.
    /// </summary>
    /// <param name="directory">Where the segments live.</param>
    /// <param name="minimumLastPosition">Positions continue above this even when no segment is left
    /// (a checkpoint covered and removed them all).</param>
    /// <param name="segmentBytes">Size at which a new segment is started.</param>
    public static FileChangeLog Open(string directory, long minimumLastPosition = 0, long segmentBytes = 64L * 1024 * 1024)
    {
        Directory.CreateDirectory(directory);
        var segments = ListSegments(directory);
        var lastPosition = minimumLastPosition;
        FileStream? stream = null;
        var activeFirst = 0L;
        if (segments.Count > 0)
        {
            var (first, path) = segments[^1];
            var scan = SegmentScan.Of(path, first, isNewest: true);
            if (scan.Condition == SegmentCondition.Corrupt)
            {
                // Recovery (DataDirectoryInspection) decides what to do with damage before the log opens;
                // cutting here would destroy valid records after the damage.
                throw new InvalidDataException($"The log segment '{path}' is damaged: {scan.Damage}.");
            }

            if (scan.IsEmpty && first <= minimumLastPosition)
            {
                // An empty segment named below what a checkpoint covers: nothing to keep, and appends must
                // continue above the checkpoint.
                File.Delete(path);
            }
            else if (scan.LastValidPosition >= minimumLastPosition || scan.IsEmpty)
            {
                lastPosition = Math.Max(lastPosition, scan.LastValidPosition);
                activeFirst = first;
                stream = OpenSegment(path);
                if (scan.Condition == SegmentCondition.TornTail)
                {
                    // A crash cut the last write short: drop the partial record so appends continue cleanly.
                    stream.SetLength(scan.ValidLength);
                    stream.Flush(flushToDisk: true);
                }

                stream.Seek(0, SeekOrigin.End);
            }

            // Otherwise the log ends below a checkpoint (it covers the rest): the segment stays closed, and
            // appends start a new one, so positions inside a segment stay contiguous.
        }

        if (stream is null)
        {
            activeFirst = lastPosition + 1;
            stream = OpenSegment(Path.Combine(directory, SegmentFormat.FileName(activeFirst)));
        }

        return new FileChangeLog(directory, segmentBytes, stream, activeFirst, lastPosition);
    }

    Task IChangeLog.AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken) => AppendAsync(entries, cancellationToken);

    /// <summary>Appends <paramref name="entries"/> (see <see cref="IChangeLog.AppendAsync"/>); this log knows the
    /// positions it gives them, and returns them.</summary>
    public Task<long[]> AppendAsync(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return Task.FromResult(Array.Empty<long>());
        }

        if (_closed)
        {
            return Task.FromException<long[]>(new ObjectDisposedException(nameof(FileChangeLog)));
        }

        var request = new AppendRequest(entries, cancellationToken);
        _requests.Enqueue(request);
        if (_closed)
        {
            // Closed while this was being queued: the writer may be gone, so nothing may be left waiting.
            FailQueued();
        }
        else
        {
            _requested.Release();
        }

        return request.Completion.Task;
    }

    public async IAsyncEnumerable<IReadOnlyList<LogRecord>> ReadAsync(
        long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var live = Channel.CreateUnbounded<LogRecord[]>(new UnboundedChannelOptions { SingleReader = true });
        long durableEnd;
        lock (_commitLock)
        {
            if (_live is not null)
            {
                throw new InvalidOperationException("The log has a reader already.");
            }

            // Registered together with reading the committed position: every batch committed after
            // this point reaches the live channel, everything before it is on disk.
            _live = live;
            durableEnd = _committedPosition;
        }

        try
        {
            var last = fromPosition - 1;
            foreach (var batch in ReadRange(_directory, fromPosition, durableEnd))
            {
                last = batch[^1].Position;
                yield return batch;
            }

            await foreach (var batch in live.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (batch[^1].Position <= last)
                {
                    continue;
                }

                IReadOnlyList<LogRecord> fresh = batch[0].Position > last ? batch : batch.Where(r => r.Position > last).ToArray();
                last = batch[^1].Position;
                yield return fresh;
            }
        }
        finally
        {
            lock (_commitLock)
            {
                _live = null;
            }
        }
    }

    public ValueTask<long> GetLastPositionAsync(CancellationToken cancellationToken) => ValueTask.FromResult(LastPosition);

    public ValueTask TruncateBeforeAsync(long position, CancellationToken cancellationToken)
    {
        long activeFirst;
        lock (_commitLock)
        {
            activeFirst = _activeSegmentFirst;
        }

        var segments = ListSegments(_directory);
        for (var i = 0; i + 1 < segments.Count; i++)
        {
            // A segment holds positions below the next segment's first one; never touch the active one.
            var nextFirst = segments[i + 1].FirstPosition;
            if (nextFirst <= position && segments[i].FirstPosition < activeFirst)
            {
                File.Delete(segments[i].Path);
            }
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_closed)
        {
            return;
        }

        // The writer finishes what was queued before it saw the close, then stops.
        _closed = true;
        await _closing.CancelAsync().ConfigureAwait(false);
        _writer.Join();
        FailQueued();

        await _segment.DisposeAsync().ConfigureAwait(false);
        _requested.Dispose();
        _closing.Dispose();
        lock (_commitLock)
        {
            _live?.Writer.TryComplete();
        }
    }

    internal static List<(long FirstPosition, string Path)> ListSegments(string directory) =>
        !Directory.Exists(directory) ? [] : Directory.EnumerateFiles(directory, "*" + SegmentFormat.Extension)
            .Select(path => (First: SegmentFormat.FirstPositionOf(path), Path: path))
            .Where(s => s.First is not null)
            .Select(s => (s.First!.Value, s.Path))
            .OrderBy(s => s.Value)
            .ToList();

    private static FileStream OpenSegment(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = 0,
        });

    /// <summary>
    /// Reads positions <paramref name="fromPosition"/> to <paramref name="toPosition"/> from the segment files.
    /// Every position must be there, in order: recovery checked the log before it opened, so a gap here is
    /// damage that happened since, and it fails the reader rather than skipping acknowledged changes.
    /// </summary>
    internal static IEnumerable<LogRecord[]> ReadRange(string directory, long fromPosition, long toPosition)
    {
        if (fromPosition > toPosition)
        {
            yield break;
        }

        var expected = fromPosition;
        var segments = ListSegments(directory);
        for (var i = 0; i < segments.Count && expected <= toPosition; i++)
        {
            var nextFirst = i + 1 < segments.Count ? segments[i + 1].FirstPosition : long.MaxValue;
            if (nextFirst <= expected)
            {
                continue;
            }

            var (first, path) = segments[i];
            if (first > expected)
            {
                throw new InvalidDataException($"The log has no revision {expected}: the next segment, '{path}', starts at {first}.");
            }

            var bytes = File.ReadAllBytes(path);
            var batch = new List<LogRecord>(1024);
            var offset = 0;
            var position = first;
            while (offset < bytes.Length && expected <= toPosition)
            {
                if (SegmentFormat.ReadRecord(bytes, offset, out var stored, out var length) != RecordStatus.Valid || stored != position)
                {
                    break;
                }

                if (position == expected)
                {
                    batch.Add(new LogRecord(position, ChangeCodec.Read(bytes.AsSpan(offset + SegmentFormat.HeaderSize, length))));
                    expected++;
                    if (batch.Count == 1024)
                    {
                        yield return batch.ToArray();
                        batch.Clear();
                    }
                }

                offset += SegmentFormat.HeaderSize + length;
                position++;
            }

            if (batch.Count > 0)
            {
                yield return batch.ToArray();
            }

            if (expected <= toPosition && expected < nextFirst)
            {
                throw new InvalidDataException($"The log segment '{path}' cannot be read at revision {expected} (byte {offset}).");
            }
        }

        if (expected <= toPosition)
        {
            throw new InvalidDataException($"The log ends at revision {expected - 1}, before revision {toPosition}.");
        }
    }

    private void FailQueued()
    {
        while (_requests.TryDequeue(out var late))
        {
            late.Completion.TrySetException(new ObjectDisposedException(nameof(FileChangeLog)));
        }
    }

    /// <summary>The writer thread: takes everything queued, writes it with one write and one fsync.</summary>
    private void RunWriter()
    {
        var pending = new List<AppendRequest>();
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var payload = new ArrayBufferWriter<byte>(1024);
        while (true)
        {
            try
            {
                _requested.Wait(_closing.Token);
            }
            catch (OperationCanceledException)
            {
                // Closing: write what is already queued, then stop.
                if (_requests.IsEmpty)
                {
                    return;
                }
            }

            pending.Clear();
            var entryCount = 0;
            while (entryCount < MaxEntriesPerBatch && _requests.TryDequeue(out var request))
            {
                if (request.CancellationToken.IsCancellationRequested)
                {
                    request.Completion.TrySetCanceled(request.CancellationToken);
                    continue;
                }

                pending.Add(request);
                entryCount += request.Entries.Count;
            }

            if (pending.Count > 0)
            {
                WriteBatch(pending, entryCount, buffer, payload);
            }
        }
    }

    private void WriteBatch(List<AppendRequest> pending, int entryCount, ArrayBufferWriter<byte> buffer, ArrayBufferWriter<byte> payload)
    {
        var firstPosition = _nextPosition;
        var records = new LogRecord[entryCount];
        var positions = new long[pending.Count][];
        try
        {
            if (_segment.Length >= _segmentBytes)
            {
                RollSegment(firstPosition);
            }

            buffer.ResetWrittenCount();
            var index = 0;
            for (var r = 0; r < pending.Count; r++)
            {
                var entries = pending[r].Entries;
                positions[r] = new long[entries.Count];
                for (var j = 0; j < entries.Count; j++)
                {
                    var entry = entries[j];
                    var position = firstPosition + index;
                    payload.ResetWrittenCount();
                    ChangeCodec.Write(payload, entry);
                    var header = buffer.GetSpan(SegmentFormat.HeaderSize);
                    SegmentFormat.WriteHeader(header, position, payload.WrittenSpan);
                    buffer.Advance(SegmentFormat.HeaderSize);
                    buffer.Write(payload.WrittenSpan);
                    positions[r][j] = position;
                    records[index] = new LogRecord(position, entry);
                    index++;
                }
            }

            var lengthBefore = _segment.Length;
            try
            {
                _segment.Write(buffer.WrittenSpan);
                _segment.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // Leave no partial batch behind: the callers are told it failed, so it must not reappear.
                _segment.SetLength(lengthBefore);
                _segment.Seek(0, SeekOrigin.End);
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            FailAll(pending, ex);
            return;
        }

        _nextPosition = firstPosition + entryCount;
        lock (_commitLock)
        {
            _committedPosition = _nextPosition - 1;
            _live?.Writer.TryWrite(records);
        }

        for (var r = 0; r < pending.Count; r++)
        {
            pending[r].Completion.TrySetResult(positions[r]);
        }
    }

    private void RollSegment(long firstPosition)
    {
        // The new file first: if it cannot be created (a full disk), the current segment stays usable.
        _segment.Flush(flushToDisk: true);
        var next = OpenSegment(Path.Combine(_directory, SegmentFormat.FileName(firstPosition)));
        _segment.Dispose();
        _segment = next;
        lock (_commitLock)
        {
            _activeSegmentFirst = firstPosition;
        }
    }

    private static void FailAll(List<AppendRequest> pending, Exception ex)
    {
        foreach (var request in pending)
        {
            request.Completion.TrySetException(ex);
        }
    }

    private sealed class AppendRequest(IReadOnlyList<ChangeEnvelope> entries, CancellationToken cancellationToken)
    {
        public IReadOnlyList<ChangeEnvelope> Entries { get; } = entries;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<long[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
