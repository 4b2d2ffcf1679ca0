namespace Roster.Server.Tests.Support;

/// <summary>Tests that measure a <c>roster serve</c> process's memory or flood it run one at a time, so they
/// neither disturb each other's figures nor the rest of the suite.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredProcesses
{
    public const string Name = "roster processes measured alone";
}
