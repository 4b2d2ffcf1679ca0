using System.Text.Json;

namespace Roster.Testing;

/// <summary>What <c>clients/eureka-scenario.js</c> (eureka-js-client driven as a service would) says about its cache.</summary>
public static class EurekaScenario
{
    /// <summary>The next cache it reports for which <paramref name="until"/> holds, each instance as <c>id:STATUS</c>.</summary>
    public static async Task<List<string>> NextCacheAsync(NodeScript client, Func<List<string>, bool> until, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var instances = Instances(await client.NextAsync("cache", deadline - DateTime.UtcNow));
            if (until(instances))
            {
                return instances;
            }
        }
    }

    /// <summary>The instances of a <c>cache</c> line, as <c>id:STATUS</c>.</summary>
    public static List<string> Instances(JsonElement line) =>
        [.. line.GetProperty("instances").EnumerateArray().Select(i => $"{i.GetProperty("id").GetString()}:{i.GetProperty("status").GetString()}")];
}
