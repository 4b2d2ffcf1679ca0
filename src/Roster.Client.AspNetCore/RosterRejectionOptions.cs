namespace Roster.Client.AspNetCore;

/// <summary>When the rejection middleware declines requests. Every default is stated on its property.</summary>
public sealed class RosterRejectionOptions
{
    /// <summary>
    /// The services this process hosts: a request whose <see cref="RosterHttp.ServiceHeader"/> names another is
    /// declined as <see cref="RosterHttp.NotHosted"/>. Default: the registered service, when registration is configured.
    /// </summary>
    public ISet<string> HostedServices { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Requests handled at once above which new ones are declined as <see cref="RosterHttp.Overloaded"/>. Default: no limit.</summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>The Retry-After sent with a rejection: how long the consumer should leave this instance alone. Default: 1 s.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}
