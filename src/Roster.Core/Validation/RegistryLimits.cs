namespace Roster.Core.Validation;

/// <summary>Size limits on what may be registered. Defaults keep one instance small in memory and on the wire.</summary>
public sealed class RegistryLimits
{
    public int MaxMetadataKeys { get; set; } = 64;

    public int MaxMetadataKeyLength { get; set; } = 128;

    public int MaxMetadataValueLength { get; set; } = 1024;

    /// <summary>Total UTF-8 bytes of keys and values.</summary>
    public int MaxMetadataBytes { get; set; } = 4096;

    public int MaxWeight { get; set; } = 10_000;

    /// <summary>Zone and version strings.</summary>
    public int MaxLabelLength { get; set; } = 128;
}
