namespace Roster.Core.Log;

/// <summary>
/// The log cannot be reached (a cluster node cut off from its message bus): the append was not stored, and
/// nothing changed. Retrying is safe, at this node later or at another node now.
/// </summary>
public sealed class LogUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
