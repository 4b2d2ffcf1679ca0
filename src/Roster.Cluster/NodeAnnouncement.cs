using System.Text.Json.Serialization;

namespace Roster.Cluster;

/// <summary>
/// What a node tells the other nodes about itself, about once a second, over the members exchange (outside the
/// log). Fields may be added; a node ignores fields it does not know, so nodes of different versions coexist.
/// </summary>
/// <param name="Node">Its node id.</param>
/// <param name="Address">Where its API listens (for operators and the console).</param>
/// <param name="Status"><c>live</c>, <c>catching-up</c>, <c>bus-unavailable</c> or <c>failed</c>.</param>
/// <param name="Revision">The last revision it applied.</param>
/// <param name="Leases">Leases it owns.</param>
/// <param name="Watchers">Watch streams open at it.</param>
public sealed record NodeAnnouncement(string Node, string Address, string Status, long Revision, int Leases, int Watchers);

/// <summary>A node as last heard: its announcement, and how long ago it came.</summary>
public sealed record ClusterMember(NodeAnnouncement Announcement, TimeSpan HeardAgo);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NodeAnnouncement))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
