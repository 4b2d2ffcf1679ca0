using Roster.Core.Log;
using Roster.Core.Log.Embedded;
using Roster.Core.Model;
using Roster.Core.Tests.Support;

namespace Roster.Core.Tests.Log;

public sealed class FileChangeLogTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "roster-log-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static ChangeEnvelope Entry(int i) =>
        new("node", i, new RegisterChange(new InstanceKey("ns", "svc", $"i{i}"), Registrations.Ephemeral(port: 1 + (i % 60000)), 0), AcceptedAt: 1_764_700_000_123 + i);

    [Fact]
    public async Task Append_ConcurrentCallers_GetDistinctIncreasingPositions()
    {
        await using var log = FileChangeLog.Open(_directory);
        var results = await Task.WhenAll(Enumerable.Range(1, 200).Select(i => log.AppendAsync([Entry(i), Entry(i + 1000)], CancellationToken.None)));

        var positions = results.SelectMany(p => p).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), positions);
        Assert.All(results, p => Assert.Equal(p[0] + 1, p[1]));
    }

    [Fact]
    public async Task Reopen_ReadsEverythingBackAndContinuesPositions()
    {
        await using (var log = FileChangeLog.Open(_directory, segmentBytes: 4096))
        {
            for (var i = 1; i <= 300; i++)
            {
                await log.AppendAsync([Entry(i)], CancellationToken.None);
            }
        }

        Assert.True(Directory.GetFiles(_directory, "*.seg").Length > 1, "small segments should roll");
        await using var reopened = FileChangeLog.Open(_directory, segmentBytes: 4096);
        Assert.Equal(300, reopened.LastPosition);
        var read = await ReadAsync(reopened, 1, 300);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), read.Select(r => r.Position));
        Assert.Equal("i300", read[^1].Envelope.Change.Key.Id);
        Assert.Equal(new long[] { 301 }, await reopened.AppendAsync([Entry(301)], CancellationToken.None));
    }

    [Fact]
    public async Task Reopen_AfterTornWrite_DropsOnlyThePartialRecord()
    {
        await using (var log = FileChangeLog.Open(_directory))
        {
            for (var i = 1; i <= 10; i++)
            {
                await log.AppendAsync([Entry(i)], CancellationToken.None);
            }
        }

        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        await using (var file = new FileStream(segment, FileMode.Open))
        {
            // A crash in the middle of the last record: cut it short, then leave garbage after it.
            file.SetLength(file.Length - 5);
            file.Seek(0, SeekOrigin.End);
            file.Write([1, 2, 3]);
        }

        await using var reopened = FileChangeLog.Open(_directory);
        Assert.Equal(9, reopened.LastPosition);
        Assert.Equal(new long[] { 10 }, await reopened.AppendAsync([Entry(10)], CancellationToken.None));
        var read = await ReadAsync(reopened, 1, 10);
        Assert.Equal(10, read.Count);
    }

    [Fact]
    public async Task Read_FromMiddle_ThenLive_HasNoGapOrDuplicate()
    {
        await using var log = FileChangeLog.Open(_directory);
        for (var i = 1; i <= 50; i++)
        {
            await log.AppendAsync([Entry(i)], CancellationToken.None);
        }

        var reading = ReadAsync(log, 20, 150);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await log.AppendAsync([Entry(1000 + (w * 100) + i)], CancellationToken.None);
            }
        }));
        await Task.WhenAll(writers);

        var read = await reading;
        Assert.Equal(Enumerable.Range(20, 131).Select(i => (long)i), read.Select(r => r.Position));
    }

    [Fact]
    public async Task Dispose_WritesWhatWasQueued_AndLaterAppendsFailAtOnce()
    {
        var log = FileChangeLog.Open(_directory);
        var queued = Enumerable.Range(1, 50).Select(i => log.AppendAsync([Entry(i)], CancellationToken.None)).ToList();
        await log.DisposeAsync();

        var written = await Task.WhenAll(queued).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), written.Select(p => p[0]).Order());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => log.AppendAsync([Entry(51)], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));

        await using var reopened = FileChangeLog.Open(_directory);
        Assert.Equal(50, reopened.LastPosition);
    }

    [Fact]
    public async Task TruncateBefore_RemovesOnlyWholeOldSegments()
    {
        await using var log = FileChangeLog.Open(_directory, segmentBytes: 2048);
        for (var i = 1; i <= 200; i++)
        {
            await log.AppendAsync([Entry(i)], CancellationToken.None);
        }

        var before = Directory.GetFiles(_directory, "*.seg").Length;
        await log.TruncateBeforeAsync(150, CancellationToken.None);

        Assert.True(Directory.GetFiles(_directory, "*.seg").Length < before);
        var read = await ReadAsync(log, 150, 200);
        Assert.Equal(Enumerable.Range(150, 51).Select(i => (long)i), read.Select(r => r.Position));
    }

    private static async Task<List<LogRecord>> ReadAsync(IChangeLog log, long from, long until)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var records = new List<LogRecord>();
        await foreach (var batch in log.ReadAsync(from, timeout.Token))
        {
            records.AddRange(batch);
            if (records[^1].Position >= until)
            {
                break;
            }
        }

        return records;
    }
}
