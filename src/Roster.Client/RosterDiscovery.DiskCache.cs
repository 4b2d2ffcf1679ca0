using Microsoft.Extensions.Logging;
using Roster.Client.Api;
using System.Text.Json;
using Roster.Client.Discovery;
using Roster.Client.Sources;

namespace Roster.Client;

/// <summary>The cache directory: lists saved shortly after they change, and read when the registry cannot be reached at start.</summary>
public sealed partial class RosterDiscovery
{
    private static readonly TimeSpan DiskWriteDelay = TimeSpan.FromMilliseconds(100);
    private readonly DiskCache? _disk;
    private readonly Dictionary<string, CachedServiceFile> _unsaved = new(StringComparer.Ordinal);
    private bool _flushScheduled;
    private Task _diskWrites = Task.CompletedTask;

    private void OnDiskFallback(string service)
    {
        if (_disk is null || _cache.TryGet(_namespace, service, out _) || _disk.TryRead(_namespace, service) is not { } file)
        {
            return;
        }

        // A list saved from another source than the service's now is not its list: a followed list is saved under its
        // target, the registry's under the registry's id (which has no "://").
        var source = _sources.GetValueOrDefault(service);
        if (source is not null ? file.RegistryId != source.Target : file.RegistryId.Contains("://", StringComparison.Ordinal))
        {
            return;
        }

        var saved = new ServiceModel(service);
        saved.Load(file.Service, file.RegistryId);
        var endpoints = saved.ToEndpoints(_namespace, EndpointSource.Disk, file.SavedAt) with { Origin = source?.Origin ?? ServiceEndpoints.RegistryOrigin };
        if (_cache.Replace(endpoints, confirmedEmpty: true, anySequence: true) == ReplaceOutcome.Replaced)
        {
            LogDiskFallback(_logger, _namespace, service, endpoints.Endpoints.Length, file.SavedAt);
            Notify(endpoints);
        }
    }

    /// <summary>Saves a registry list soon, when there is a cache directory (the list is copied only then).</summary>
    private void SaveLater(ServiceModel model, DateTimeOffset now)
    {
        if (_disk is not null && model.RegistryId is { } registryId)
        {
            SaveLater(model.Name, new CachedServiceFile(registryId, _namespace, now, model.ToData()));
        }
    }

    /// <summary>Saves a followed source's list soon, under its target, when there is a cache directory.</summary>
    private void SaveLater(EndpointSourceFeed feed, EndpointSourceFeed.Listed listed, DateTimeOffset now)
    {
        if (_disk is not null)
        {
            SaveLater(feed.Service, new CachedServiceFile(feed.Target, _namespace, now, ToData(feed.Service, listed)));
        }
    }

    /// <summary>A followed list as the cache directory keeps it.</summary>
    private static ServiceData ToData(string service, EndpointSourceFeed.Listed listed) =>
        new(service, listed.Version, "", [.. listed.Endpoints.Select(e => new InstanceData(
            e.Id, e.Address, e.Port, e.Scheme, e.Zone, e.Version, e.Weight, e.Weight,
            JsonSerializer.SerializeToElement(e.Metadata.ToDictionary(StringComparer.Ordinal), ClientJsonContext.Default.DictionaryStringString),
            e.Incarnation, e.Drained, Disabled: false))]);

    private void SaveLater(string service, CachedServiceFile file)
    {
        _unsaved[service] = file;
        if (!_flushScheduled)
        {
            // Changes that come together are written together, a moment later, off this loop.
            _flushScheduled = true;
            PostLater(new DiscoveryMessage.FlushDisk(), DiskWriteDelay, CancellationToken.None);
        }
    }

    private void FlushDisk()
    {
        _flushScheduled = false;
        if (_disk is null || _unsaved.Count == 0)
        {
            return;
        }

        var batch = _unsaved.Values.ToArray();
        _unsaved.Clear();
        _diskWrites = WriteFilesAsync(_diskWrites, _disk, batch, _logger);
    }

    private static async Task WriteFilesAsync(Task previous, DiskCache disk, CachedServiceFile[] batch, ILogger logger)
    {
        // One write at a time, in order: an older list never overwrites a newer one.
        await previous.ConfigureAwait(false);
        await Task.Run(() =>
        {
            foreach (var file in batch)
            {
                try
                {
                    disk.Write(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    LogSaveFailed(logger, file.Namespace, file.Service.Name, e.Message);
                }
            }
        }).ConfigureAwait(false);
    }
}
