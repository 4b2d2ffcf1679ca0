namespace Roster.Cluster.Tests.History;

/// <summary>The write history's check can fail: each rule it enforces, broken on purpose.</summary>
public sealed class WriteHistoryTests
{
    [Fact]
    public void An_acknowledged_registration_missing_from_the_registry_is_lost()
    {
        var history = new WriteHistory();
        history.Record("orders", "a", new(8080, 10, Acknowledged: true));
        Assert.Contains("lost", Assert.Single(history.Check(new Dictionary<string, int>())), StringComparison.Ordinal);
        Assert.Empty(history.Check(new Dictionary<string, int> { ["orders/a"] = 8080 }));
    }

    [Fact]
    public void An_older_port_or_an_acknowledged_removal_still_present_is_wrong()
    {
        var history = new WriteHistory();
        history.Record("orders", "a", new(8080, 10, Acknowledged: true));
        history.Record("orders", "a", new(8081, 11, Acknowledged: true));
        Assert.Single(history.Check(new Dictionary<string, int> { ["orders/a"] = 8080 }));

        history.Record("orders", "a", new(WriteHistory.Absent, 12, Acknowledged: true));
        Assert.Contains("removed", Assert.Single(history.Check(new Dictionary<string, int> { ["orders/a"] = 8081 })), StringComparison.Ordinal);
        Assert.Empty(history.Check(new Dictionary<string, int>()));
    }

    [Fact]
    public void A_later_write_with_an_unknown_outcome_may_or_may_not_show()
    {
        var history = new WriteHistory();
        history.Record("orders", "a", new(8080, 10, Acknowledged: true));
        history.Record("orders", "a", new(WriteHistory.Absent, 0, Acknowledged: false));
        Assert.Empty(history.Check(new Dictionary<string, int> { ["orders/a"] = 8080 }));
        Assert.Empty(history.Check(new Dictionary<string, int>()));
        Assert.Single(history.Check(new Dictionary<string, int> { ["orders/a"] = 9999 }));
    }
}
