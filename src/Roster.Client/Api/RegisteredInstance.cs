namespace Roster.Client;

/// <summary>The registry's answer to a registration: which incarnation to renew, and when it was made.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Service">The service.</param>
/// <param name="Id">The instance id.</param>
/// <param name="Incarnation">This registration's identity; renewals and updates name it.</param>
/// <param name="Revision">The registry revision at which the registration took effect.</param>
/// <param name="TtlSeconds">The lease's time to live.</param>
public sealed record RegisteredInstance(string Namespace, string Service, string Id, long Incarnation, long Revision, int TtlSeconds);
