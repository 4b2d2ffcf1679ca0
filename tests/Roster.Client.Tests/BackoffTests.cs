using Roster.Client.Connection;

namespace Roster.Client.Tests;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 200)]
    [InlineData(3, 800)]
    [InlineData(6, 5000)]
    [InlineData(40, 5000)]
    public void Delay_doubles_per_round_up_to_the_cap_and_keeps_at_least_half(int round, int nominalMs)
    {
        var initial = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromSeconds(5);

        Assert.Equal(nominalMs / 2.0, Backoff.Delay(round, initial, max, random: 0).TotalMilliseconds, precision: 3);
        Assert.Equal(nominalMs, Backoff.Delay(round, initial, max, random: 0.999999).TotalMilliseconds, precision: 0);
        Assert.InRange(Backoff.Delay(round, initial, max, random: 0.5).TotalMilliseconds, nominalMs / 2.0, nominalMs);
    }
}
