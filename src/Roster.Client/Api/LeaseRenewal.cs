namespace Roster.Client;

/// <summary>One lease to renew: the instance and the incarnation its registration returned.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Service">The service.</param>
/// <param name="Id">The instance id.</param>
/// <param name="Incarnation">The incarnation from <see cref="RegisteredInstance"/>.</param>
public sealed record LeaseRenewal(string Namespace, string Service, string Id, long Incarnation)
{
    /// <summary>The renewal for a registration the registry acknowledged.</summary>
    public static LeaseRenewal Of(RegisteredInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return new LeaseRenewal(instance.Namespace, instance.Service, instance.Id, instance.Incarnation);
    }
}
