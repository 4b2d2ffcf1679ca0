namespace Roster.Core.Log;

/// <summary>
/// Who asked for a change, as the node that accepted it saw them: the principal (the name of the caller's token, or
/// <c>anonymous</c> when the node has no tokens) and the client's address. Carried in the log with the change, so every
/// node of a cluster can tell the same story of who changed what. Never a token.
/// </summary>
public sealed record WriteAuthor(string Principal, string ClientAddress)
{
    /// <summary>The principal of every caller when the node has no tokens configured.</summary>
    public const string Anonymous = "anonymous";
}
