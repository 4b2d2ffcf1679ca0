using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Roster.Core.Node;

/// <summary>How <see cref="NodeStorage.OpenDirectoryAsync(string, DataDirectoryOptions, CancellationToken)"/> opens a data directory.</summary>
public sealed class DataDirectoryOptions
{
    /// <summary>
    /// Start even when damage means acknowledged writes are lost (<c>roster serve --accept-data-loss</c>):
    /// keep what is intact, set the damaged files aside, move the revision past everything the directory
    /// shows and take a new registry id. Default false: a damaged directory refuses to start.
    /// </summary>
    public bool AcceptDataLoss { get; init; }

    /// <summary>Size at which the log starts a new segment file. Default 64 MiB.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Where recovery reports what it found.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Names the folder damaged files are set aside in.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
