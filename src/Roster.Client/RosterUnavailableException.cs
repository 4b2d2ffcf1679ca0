namespace Roster.Client;

/// <summary>No registry node could take the call before its deadline: all refused, timed out or asked to wait.</summary>
public sealed class RosterUnavailableException : Exception
{
    /// <summary>Creates the exception with a message naming the nodes and the last failure.</summary>
    public RosterUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public RosterUnavailableException()
        : base("No registry node answered.")
    {
    }

    /// <summary>Creates the exception with a message and the failure that caused it.</summary>
    public RosterUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
