namespace Roster.Client;

/// <summary>
/// What this process, as a provider, is doing: whether it is draining (shutting down: finish what is in
/// flight, take nothing new). The registration agent sets it when shutdown begins; the rejection
/// middleware of <c>Roster.Client.AspNetCore</c> reads it. One per process, shared through DI.
/// </summary>
public sealed class RosterProviderState
{
    private int _draining;

    /// <summary>True once shutdown has begun.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) == 1;

    /// <summary>Marks the process as draining; it stays so until it exits.</summary>
    public void BeginDraining() => Volatile.Write(ref _draining, 1);
}
