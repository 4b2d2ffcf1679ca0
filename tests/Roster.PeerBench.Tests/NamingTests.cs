using Roster.PeerBench.Workloads;

namespace Roster.PeerBench.Tests;

public sealed class NamingTests
{
    [Fact]
    public void W3_changes_create_a_block_then_delete_the_same_block()
    {
        var changes = Enumerable.Range(0, 4 * Naming.ChangeBlock).Select(Naming.ChangeAt).ToList();

        Assert.Equal([.. Enumerable.Range(0, Naming.ChangeBlock).Select(k => (k, false))], changes.Take(Naming.ChangeBlock));
        Assert.Equal([.. Enumerable.Range(0, Naming.ChangeBlock).Select(k => (k, true))], changes.Skip(Naming.ChangeBlock).Take(Naming.ChangeBlock));
        Assert.Equal((Naming.ChangeBlock, false), changes[2 * Naming.ChangeBlock]);
        // Every key is created exactly once and deleted exactly once, creation first.
        foreach (var group in changes.Select((c, i) => (c.Key, c.Delete, i)).GroupBy(c => c.Key))
        {
            Assert.Equal([false, true], group.OrderBy(c => c.i).Select(c => c.Delete));
        }
    }

    [Fact]
    public void Every_peer_stores_the_same_instance_description()
    {
        var stored = System.Text.Json.JsonDocument.Parse(Naming.InstanceValue()).RootElement;
        var registered = System.Text.Json.JsonDocument.Parse(Naming.RegistrationJson(10)).RootElement;

        Assert.False(stored.TryGetProperty("ttlSeconds", out _));
        Assert.Equal(registered.GetProperty("metadata").GetRawText(), stored.GetProperty("metadata").GetRawText());
        Assert.Equal(128, registered.GetProperty("metadata").EnumerateObject().Sum(p => p.Name.Length + p.Value.GetString()!.Length));
    }

    [Theory]
    [InlineData(50, 5)]
    [InlineData(99, 10)]
    [InlineData(100, 10)]
    [InlineData(0, 1)]
    public void Percentile_is_nearest_rank(double percentile, double expected) =>
        Assert.Equal(expected, Stats.Percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], percentile));
}
