using Microsoft.Extensions.Options;
using Roster.Core.Node;

namespace Roster.Server.Hosting;

/// <summary>Refuses settings that would make the node misbehave, at start rather than at the first request.</summary>
internal sealed class RegistryNodeOptionsValidator : IValidateOptions<RegistryNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryNodeOptions options)
    {
        var errors = new List<string>();
        if (options.MinTtl < TimeSpan.FromSeconds(1) || options.MinTtl > options.MaxTtl)
        {
            errors.Add("Roster:Node:MinTtl must be at least 1 s and not above MaxTtl.");
        }

        if (options.DefaultTtl < options.MinTtl || options.DefaultTtl > options.MaxTtl)
        {
            errors.Add("Roster:Node:DefaultTtl must lie between MinTtl and MaxTtl.");
        }

        if (options.SelfPreservationThreshold is <= 0 or > 1)
        {
            errors.Add("Roster:Node:SelfPreservationThreshold must be above 0 and at most 1 (1 turns self-preservation off).");
        }

        if (options.SelfPreservationMinimum < 0)
        {
            errors.Add("Roster:Node:SelfPreservationMinimum must not be negative.");
        }

        if (options.ExpiryScanInterval <= TimeSpan.Zero || options.KeepAliveInterval <= TimeSpan.Zero || options.WriteTimeout <= TimeSpan.Zero
            || options.CatchUpTimeout <= TimeSpan.Zero)
        {
            errors.Add("Roster:Node:ExpiryScanInterval, KeepAliveInterval, WriteTimeout and CatchUpTimeout must be positive.");
        }

        if (options.WatchQueueCapacity < 16 || options.WatchHistorySize < 1 || options.CheckpointInterval < 1)
        {
            errors.Add("Roster:Node:WatchQueueCapacity must be at least 16; WatchHistorySize and CheckpointInterval at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
