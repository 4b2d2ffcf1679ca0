using System.Net.Http.Json;
using System.Text.Json;

namespace Roster.Cluster.Tests.History;

/// <summary>The checks every cluster scenario ends with.</summary>
internal static class ClusterChecks
{
    /// <summary>A last write at every node, then: every node reaches all of them and holds the same registry; that
    /// registry passes the write history; every watcher's view equals it and its history broke no rule.</summary>
    public static async Task AssertConvergedAsync(IReadOnlyList<RosterProcess> nodes, WriteHistory history, IEnumerable<WatchRecorder> watchers)
    {
        long end = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            await history.RegisterAsync(nodes, i, "marker", $"end-{i}", 1);
        }

        foreach (var node in nodes)
        {
            end = Math.Max(end, (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64());
        }

        var registries = new List<Dictionary<string, string>>();
        foreach (var node in nodes)
        {
            await Eventually.TrueAsync(async () => (await GetJsonAsync(node, "/api/v1/status")).GetProperty("revision").GetInt64() >= end, "every node applies the last writes", TimeSpan.FromSeconds(30));
            registries.Add(await RegistryOfAsync(node));
        }

        Assert.Equal(registries[0], registries[1]);
        Assert.Equal(registries[0], registries[2]);
        var ports = registries[0].ToDictionary(e => e.Key, e => int.Parse(e.Value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(history.Check(ports));

        foreach (var watcher in watchers)
        {
            await Eventually.TrueAsync(() => watcher.Revision >= end, "every watcher reaches the last writes", TimeSpan.FromSeconds(30));
            Assert.Empty(watcher.Violations);
            Assert.Equal(0, watcher.ResetsAfterStart);
            var seen = watcher.Services.SelectMany(s => watcher.ViewOf(s).Instances.Select(i => (Key: s + "/" + i.Key, i.Value))).ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal(registries[0], seen);
        }
    }

    /// <summary>Every instance of namespace <c>default</c> at <paramref name="node"/>: service/id → port, incarnation, drained.</summary>
    public static async Task<Dictionary<string, string>> RegistryOfAsync(RosterProcess node)
    {
        var registry = new Dictionary<string, string>(StringComparer.Ordinal);
        var services = await GetJsonAsync(node, "/api/v1/namespaces/default/services");
        foreach (var service in services.GetProperty("services").EnumerateArray())
        {
            var name = service.GetProperty("name").GetString()!;
            var snapshot = await GetJsonAsync(node, $"/api/v1/namespaces/default/services/{name}");
            foreach (var instance in snapshot.GetProperty("instances").EnumerateArray())
            {
                registry[name + "/" + instance.GetProperty("id").GetString()] = WatchRecorder.Describe(instance);
            }
        }

        return registry;
    }

    public static async Task<JsonElement> GetJsonAsync(RosterProcess node, string path)
    {
        using var response = await node.Client.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }
}
