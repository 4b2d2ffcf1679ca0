namespace Roster.Cli.Commands;

/// <summary>A command failed for a reason the user can act on; carries the exit code.</summary>
internal sealed class CommandException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
