using Roster.Cli;

namespace Roster.Server.Tests.Cli;

/// <summary><c>roster serve</c> refuses what it would otherwise ignore: a misspelt option or setting must not
/// start a node on defaults without a word.</summary>
public sealed class ServeArgumentsTests
{
    [Theory]
    [InlineData("--prot", "8080", "'--prot' is not an option of roster serve")]
    [InlineData("--Roster:Node:DefaulTtl=00:00:05", null, "'Roster:Node:DefaulTtl' is not a setting")]
    [InlineData("--Roster:Storage:DataDir=/tmp/x", null, "'Roster:Storage:DataDir' is not a setting")]
    [InlineData("--Roster:Nodes:DefaultTtl=00:00:05", null, "'Roster:Nodes' is not a setting")]
    [InlineData("--Roster:Auth:Tokens:0:Tokn=x", null, "'Roster:Auth:Tokens:0:Tokn' is not a setting")]
    [InlineData("--tls-cert", "/nonexistent/server.pem", "Roster:Tls:KeyFile (--tls-key) is required")]
    [InlineData("--Roster:Tls:CertFile=x", null, "'Roster:Tls:CertFile' is not a setting")]
    [InlineData("--health-port", "70000", "--health-port must be between 0 and 65535")]
    [InlineData("--Roster:Health:Prot=9090", null, "'Roster:Health:Prot' is not a setting")]
    public async Task UnknownOptionOrSetting_RefusesToStart_NamingIt(string argument, string? value, string expected)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] args = value is null
            ? ["serve", "--port", "0", "--in-memory", argument]
            : ["serve", "--port", "0", "--in-memory", argument, value];

        var exit = await RosterCommandLine.RunAsync(args, output, error).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(RosterCommandLine.BadArguments, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }
}
