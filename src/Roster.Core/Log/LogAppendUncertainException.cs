namespace Roster.Core.Log;

/// <summary>
/// An append whose outcome is unknown: the log may have stored it or not (a publisher confirm that never
/// came). The writer learns the outcome by reading, so the node keeps its callers waiting for the applier
/// (or for their deadline) instead of answering from the append.
/// </summary>
public sealed class LogAppendUncertainException(string message, Exception? inner = null) : IOException(message, inner);
