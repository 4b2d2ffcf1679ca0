using Roster.Core.Log;
using Roster.Core.Model;

namespace Roster.Core.Node;

public sealed partial class RegistryNode
{
    // Owned by the expiry loop alone: when the owners were last looked over.
    private long _lastOwnerScan = long.MinValue;

    // Owned by the expiry loop alone: the nodes that were live at the last pass.
    private List<string> _lastLive = [];

    /// <summary>
    /// Announces this node and adopts the leases of owners that are silent (looking once per lease TTL, and at
    /// once when a node has just fallen silent):
    /// not heard from for one TTL (the grace) and not this node. Every node picks the same successor for a
    /// silent owner, the first live node whose id follows it (wrapping around), so one node claims each
    /// lease; claims are ordinary log entries, so two nodes with different views converge on one owner.
    /// Returns how many leases this node claimed. Called by the expiry loop (and by tests), never
    /// concurrently; a node without membership (a single node) does nothing.
    /// </summary>
    internal async Task<int> AdoptSilentOwnersAsync(CancellationToken cancellationToken)
    {
        if (_storage.Membership is not { } membership)
        {
            return 0;
        }

        membership.Announce(NodeId);
        var now = _time.GetTimestamp();
        if (_lastOwnerScan == long.MinValue)
        {
            // The first scan waits one TTL: a node that just started has not heard the others yet.
            _lastOwnerScan = now;
            return 0;
        }

        // Reading who is live is cheap (a few nodes); walking every instance is not. So the walk runs once per
        // TTL, and at once when a node has just fallen silent: its leases are adopted one TTL after it went quiet.
        var live = membership.LiveNodes(_options.DefaultTtl).Order(StringComparer.Ordinal).ToList();
        var someoneFellSilent = _lastLive.Any(n => !live.Contains(n));
        _lastLive = live;
        if (!someoneFellSilent && _time.GetElapsedTime(_lastOwnerScan, now) < _options.DefaultTtl)
        {
            return 0;
        }

        _lastOwnerScan = now;
        var claims = new List<ChangeEnvelope>();
        foreach (var ns in State.Namespaces.Values)
        {
            foreach (var service in ns.Services.Values)
            {
                foreach (var instance in service.Instances.Values)
                {
                    if (instance.Registration.Kind == InstanceKind.Ephemeral
                        && instance.Owner.Length > 0
                        && instance.Owner != NodeId
                        && !live.Contains(instance.Owner)
                        && SuccessorOf(instance.Owner, live) == NodeId)
                    {
                        claims.Add(new ChangeEnvelope(NodeId, 0, new ClaimLeaseChange(new InstanceKey(ns.Name, service.Name, instance.Id), instance.Incarnation), AcceptedNow()));
                    }
                }
            }
        }

        if (claims.Count == 0)
        {
            return 0;
        }

        // One append: the claims apply together, and the leases start when they do (UpdateLeases).
        await _storage.Log.AppendAsync(claims, cancellationToken).WaitAsync(_options.WriteTimeout, _time, cancellationToken).ConfigureAwait(false);
        LogAdopted(_logger, claims.Count);
        return claims.Count;
    }

    /// <summary>The first of <paramref name="live"/> (sorted) after <paramref name="silent"/>, wrapping around;
    /// null when no node is live.</summary>
    internal static string? SuccessorOf(string silent, IReadOnlyList<string> live) =>
        live.Count == 0 ? null : live.FirstOrDefault(n => string.CompareOrdinal(n, silent) > 0) ?? live[0];
}
