namespace Roster.Server.Hosting;

/// <summary>The configuration names a <c>Roster:</c> key that no setting reads; the node refuses to start.</summary>
public sealed class UnknownSettingException(IReadOnlyList<string> problems)
    : Exception("Unknown settings:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
