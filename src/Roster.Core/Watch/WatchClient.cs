namespace Roster.Core.Watch;

/// <summary>Who holds a watch, as the host that serves it describes them: for operators, never for decisions.</summary>
/// <param name="Address">The client's address and port.</param>
/// <param name="UserAgent">What the client says it is (bounded by the host).</param>
/// <param name="Since">When the watch was opened.</param>
public sealed record WatchClient(string Address, string UserAgent, DateTimeOffset Since);
