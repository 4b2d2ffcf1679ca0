using Microsoft.Extensions.Logging;
using Roster.Client.Api;
using Roster.Client.Discovery;

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

    private void SaveLater(string service, CachedServiceFile file)
    {
        if (_disk is null)
        {
            return;
        }

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
