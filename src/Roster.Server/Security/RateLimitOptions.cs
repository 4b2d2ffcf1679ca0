namespace Roster.Server;

/// <summary>Per-client request limit. Off by default; when on, refusals are 429 with Retry-After.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per second per client address; 0 turns limiting off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>Requests a client may make at once above the steady rate. Default: one second's worth.</summary>
    public int Burst { get; set; }
}
