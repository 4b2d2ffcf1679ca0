using Roster.Core.Model;

namespace Roster.Core.Tests.Support;

internal static class Registrations
{
    public static Registration Ephemeral(string address = "10.0.0.1", int port = 8080, int ttlSeconds = 10, string version = "1.0") =>
        new(address, port, "http", "zone-a", version, 100, InstanceMetadata.From([new("team", "orders")]), InstanceKind.Ephemeral, ttlSeconds);

    public static Registration Persistent(string address = "10.0.0.1", int port = 8080) =>
        new(address, port, "http", string.Empty, string.Empty, 100, InstanceMetadata.Empty, InstanceKind.Persistent, 0);
}
