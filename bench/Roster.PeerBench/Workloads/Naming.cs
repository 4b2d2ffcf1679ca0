using System.Text;

namespace Roster.PeerBench.Workloads;

/// <summary>
/// Names and payloads shared by every peer, so each stores the same thing. The instance's value is the
/// JSON a Roster registration carries (address, port, zone, version, 128 bytes of metadata); etcd and
/// ZooKeeper store it as the key's value and the znode's data.
/// </summary>
internal static class Naming
{
    public const string Namespace = "bench";
    public const int Services = 50;

    /// <summary>W3 changes come in blocks: this many instances are created, then the same ones deleted.</summary>
    public const int ChangeBlock = 10;

    public static string Service(int index) => $"svc-{index:00}";

    public static string ProviderInstance(int provider, int index) => $"p{provider:0000}-{index:0000}";

    public static int ServiceOf(int provider, int index, int instancesPerProvider) => (provider * instancesPerProvider + index) % Services;

    public static string ChangeInstance(int key) => $"w3-{key}";

    public static string HolderInstance(int index) => $"h-{index}";

    /// <summary>Change number <paramref name="change"/> of W3: which key, and whether it creates or deletes it.</summary>
    public static (int Key, bool Delete) ChangeAt(int change)
    {
        var block = change / (2 * ChangeBlock);
        var position = change % (2 * ChangeBlock);
        return (block * ChangeBlock + position % ChangeBlock, position >= ChangeBlock);
    }

    public static string RegistrationJson(int ttlSeconds) =>
        "{\"address\":\"10.20.30.40\",\"port\":8080,\"zone\":\"eu-west-1a\",\"version\":\"1.4.2\"," +
        "\"metadata\":{\"team\":\"checkout-platform\",\"owner\":\"payments-oncall@example.com\"," +
        "\"build\":\"2026.11.21-4f3c2a1b9e7d6c5b\",\"region\":\"eu-west-1a\",\"protocol\":\"http1+h2c\",\"tier\":\"golden\"}," +
        $"\"ttlSeconds\":{ttlSeconds}}}";

    /// <summary>What etcd and ZooKeeper store: the same instance description without Roster's lease field.</summary>
    public static byte[] InstanceValue() => Encoding.UTF8.GetBytes(RegistrationJson(10).Replace(",\"ttlSeconds\":10", "", StringComparison.Ordinal));
}
