namespace Roster.Client;

/// <summary>How the registration agent keeps instances registered and leaves. Every default is stated on its property.</summary>
public sealed class RegistrationAgentOptions
{
    /// <summary>
    /// How long to stay registered but drained before deregistering on shutdown, so consumers stop
    /// sending new requests while the ones in flight finish. Default: 5 s.
    /// </summary>
    public TimeSpan DrainPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The share of the renewal interval (TTL/3) by which each renewal is moved at random, so processes started together do not renew together. Default: 0.1.</summary>
    public double RenewJitter { get; set; } = 0.1;

    /// <summary>The first wait after a failed registration or renewal; it doubles up to <see cref="MaxRetryDelay"/>. Default: 200 ms.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The cap on the wait between retries while the registry is unreachable. Default: 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}
