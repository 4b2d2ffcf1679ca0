using System.Buffers;
using System.IO.Pipelines;

namespace Roster.Server.Api;

/// <summary>
/// A request body read as it streams, with the node's limits applied on the way: every byte that arrives
/// is reserved from the shared <see cref="RequestBodyBudget"/> (503 when it is spent) and counted against
/// the request's size limit (413). Large renewals are parsed through it as they arrive, so the node never
/// holds a whole raw body next to what was parsed from it. The reservation (released by
/// <see cref="Dispose"/>) covers every byte that arrived, since what was parsed from them is still held.
/// </summary>
internal sealed class MeteredBodyReader(PipeReader inner, RequestBodyBudget budget, long maxBytes) : PipeReader, IDisposable
{
    private ReadOnlySequence<byte> _lastBuffer;
    private long _consumed;
    private long _reserved;

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _consumed += _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
        _lastBuffer = default;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Meter(result);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        Meter(result);
        return true;
    }

    public void Dispose() => budget.Release(Interlocked.Exchange(ref _reserved, 0));

    private void Meter(ReadResult result)
    {
        _lastBuffer = result.Buffer;
        var arrived = _consumed + result.Buffer.Length;
        if (arrived > maxBytes)
        {
            throw new BodyLimitException(tooLarge: true);
        }

        if (arrived > _reserved)
        {
            if (!budget.TryReserve(arrived - _reserved))
            {
                throw new BodyLimitException(tooLarge: false);
            }

            _reserved = arrived;
        }
    }

    /// <summary>The body went over its size limit, or over the node's budget for bodies in flight.</summary>
    internal sealed class BodyLimitException(bool tooLarge) : Exception(tooLarge ? "The body is too large." : "The body budget is spent.")
    {
        public bool TooLarge { get; } = tooLarge;
    }
}
