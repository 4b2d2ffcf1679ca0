namespace Roster.Server.Api;

/// <summary>Limits on request bodies that protect the node as a whole (<c>Roster:Limits</c> binds these too).</summary>
public sealed class RequestBodyLimits
{
    /// <summary>Bytes that all request bodies being read may hold together. Default 64 MiB: 100 callers
    /// sending 8 MiB renewals and stalling once took 1.7 GB.</summary>
    public long MaxBufferedBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Longest a request body may take to arrive. Default 10 s.</summary>
    public TimeSpan BodyReadTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The memory all in-flight request bodies may hold together. A body reserves what it has buffered as it
/// arrives and releases it when parsed; a body that would go over the budget is refused with 503 and
/// <c>Retry-After</c> before it grows further. One atomic counter: no lock, no allocation.
/// </summary>
internal sealed class RequestBodyBudget(Microsoft.Extensions.Options.IOptions<RequestBodyLimits> limits)
{
    private long _reserved;

    public long Capacity { get; } = limits.Value.MaxBufferedBodyBytes;

    public TimeSpan ReadTimeout { get; } = limits.Value.BodyReadTimeout;

    /// <summary>Bytes reserved now (a metric).</summary>
    public long Reserved => Interlocked.Read(ref _reserved);

    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _reserved, bytes) <= Capacity)
        {
            return true;
        }

        Interlocked.Add(ref _reserved, -bytes);
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _reserved, -bytes);
}
