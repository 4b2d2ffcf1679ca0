namespace Roster.Client.Discovery;

/// <summary>A read-only stream that remembers when it last delivered bytes, for a watchdog to read.</summary>
internal sealed class ActivityStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeProvider _time;
    private long _lastActivity;

    public ActivityStream(Stream inner, TimeProvider time)
    {
        _inner = inner;
        _time = time;
        _lastActivity = time.GetTimestamp();
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>How long since the last byte arrived (or since the stream was opened).</summary>
    public TimeSpan IdleFor() => _time.GetElapsedTime(Volatile.Read(ref _lastActivity));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = _inner.Read(buffer, offset, count);
        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
