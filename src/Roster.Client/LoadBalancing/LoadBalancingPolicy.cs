namespace Roster.Client;

/// <summary>How a consumer chooses among a service's endpoints.</summary>
public enum LoadBalancingPolicy
{
    /// <summary>Each endpoint in turn.</summary>
    RoundRobin,

    /// <summary>At random, in proportion to each endpoint's weight.</summary>
    WeightedRandom,

    /// <summary>Two endpoints at random; the one with fewer requests in flight, scaled by its recent latency, wins.</summary>
    PowerOfTwoChoices,

    /// <summary>The endpoint a request key hashes to, so the same key keeps going to the same endpoint while it is available.</summary>
    ConsistentHash,
}
