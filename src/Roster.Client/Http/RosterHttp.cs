namespace Roster.Client;

/// <summary>The names Roster's HTTP integration uses on requests and responses.</summary>
public static class RosterHttp
{
    /// <summary>
    /// The response header with which a provider declines a request on purpose, with status 503:
    /// <see cref="Draining"/>, <see cref="NotHosted"/> or <see cref="Overloaded"/>. A consumer tries another
    /// instance and does not count the answer as a failure of this one.
    /// </summary>
    public const string RejectionHeader = "Roster-Rejection";

    /// <summary>The request header naming the service the consumer meant to call, so a provider can refuse a request meant for another.</summary>
    public const string ServiceHeader = "Roster-Service";

    /// <summary>The provider is shutting down: it finishes what it has but takes nothing new.</summary>
    public const string Draining = "draining";

    /// <summary>The provider does not host the service the request names (an address reused by another service, say).</summary>
    public const string NotHosted = "not-hosted";

    /// <summary>The provider has more requests than it accepts at once.</summary>
    public const string Overloaded = "overloaded";

    /// <summary>The request option holding the key for <see cref="LoadBalancingPolicy.ConsistentHash"/>.</summary>
    public static readonly HttpRequestOptionsKey<string> HashKey = new("Roster.HashKey");

    /// <summary>Sets the key that consistent hashing routes <paramref name="request"/> by.</summary>
    public static HttpRequestMessage WithHashKey(this HttpRequestMessage request, string key)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(HashKey, key);
        return request;
    }
}
