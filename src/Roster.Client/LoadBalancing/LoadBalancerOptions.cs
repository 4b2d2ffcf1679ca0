namespace Roster.Client;

/// <summary>How endpoints are chosen and when a failing one is set aside. Every default is stated on its property.</summary>
public sealed class LoadBalancerOptions
{
    /// <summary>The choice among eligible endpoints. Default: <see cref="LoadBalancingPolicy.PowerOfTwoChoices"/>.</summary>
    public LoadBalancingPolicy Policy { get; set; } = LoadBalancingPolicy.PowerOfTwoChoices;

    /// <summary>This process's zone: endpoints in it are preferred while any of them is eligible. Default: none.</summary>
    public string? LocalZone { get; set; }

    /// <summary>Consecutive failures after which an endpoint is ejected (sent nothing for a while). Default: 5.</summary>
    public int ConsecutiveFailuresToEject { get; set; } = 5;

    /// <summary>How long a first ejection lasts; each further ejection doubles it, up to <see cref="MaxEjectionTime"/>. Default: 10 s.</summary>
    public TimeSpan BaseEjectionTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest an ejection lasts. Default: 2 min.</summary>
    public TimeSpan MaxEjectionTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The largest share of a service's endpoints ejected at once (rounded down, so a service with a
    /// single endpoint never loses it): ejection must never do what an outage would. Default: 0.5.
    /// </summary>
    public double MaxEjectedShare { get; set; } = 0.5;

    /// <summary>How long an endpoint that rejected a request (draining, not hosting, overloaded) is skipped when it gave no Retry-After. Default: 1 s.</summary>
    public TimeSpan RejectionBackoff { get; set; } = TimeSpan.FromSeconds(1);

    internal LoadBalancerOptions Copy() => (LoadBalancerOptions)MemberwiseClone();

    internal bool SameAs(LoadBalancerOptions other) =>
        Policy == other.Policy && string.Equals(LocalZone, other.LocalZone, StringComparison.Ordinal)
        && ConsecutiveFailuresToEject == other.ConsecutiveFailuresToEject && BaseEjectionTime == other.BaseEjectionTime
        && MaxEjectionTime == other.MaxEjectionTime && MaxEjectedShare.Equals(other.MaxEjectedShare) && RejectionBackoff == other.RejectionBackoff;

    /// <summary>Throws when the options cannot work, naming the setting.</summary>
    public void Validate()
    {
        if (ConsecutiveFailuresToEject < 1 || BaseEjectionTime <= TimeSpan.Zero || MaxEjectionTime < BaseEjectionTime
            || MaxEjectedShare is < 0 or > 1 || RejectionBackoff < TimeSpan.Zero)
        {
            throw new ArgumentException(
                "LoadBalancerOptions: ConsecutiveFailuresToEject must be at least 1, BaseEjectionTime positive, MaxEjectionTime at least BaseEjectionTime, MaxEjectedShare within 0..1, RejectionBackoff not negative.");
        }
    }
}
