using System.Text;
using Roster.Core.Model;
using Roster.Core.Node;

namespace Roster.Core.Validation;

/// <summary>A registration as a client sent it: every field optional until validated.</summary>
public sealed record RegistrationInput(
    string? Address,
    int? Port,
    string? Scheme,
    string? Zone,
    string? Version,
    int? Weight,
    IReadOnlyCollection<KeyValuePair<string, string>>? Metadata,
    int? TtlSeconds,
    bool? Persistent)
{
    private static readonly System.Buffers.SearchValues<char> SchemeCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789+-.");

    /// <summary>Checks every field and builds the <see cref="Registration"/>, or returns the first error.</summary>
    public (Registration? Registration, FieldError? Error) Validate(RegistryLimits limits, RegistryNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        if (Names.CheckAddress("address", Address) is { } addressError)
        {
            return (null, addressError);
        }

        if (Port is null)
        {
            return (null, new FieldError("port", "port is required."));
        }

        if (Port is < 1 or > 65535)
        {
            return (null, new FieldError("port", "port must be between 1 and 65535."));
        }

        var scheme = Scheme ?? Registration.DefaultScheme;
        if (scheme.Length is 0 or > 32 || !char.IsAsciiLetterLower(scheme[0])
            || scheme.AsSpan().ContainsAnyExcept(SchemeCharacters))
        {
            return (null, new FieldError("scheme", "scheme must be a lower-case URI scheme such as http, https or grpc."));
        }

        if (CheckLabel("zone", Zone, limits) is { } zoneError)
        {
            return (null, zoneError);
        }

        if (CheckLabel("version", Version, limits) is { } versionError)
        {
            return (null, versionError);
        }

        var weight = Weight ?? Registration.DefaultWeight;
        if (weight < 0)
        {
            return (null, new FieldError("weight", "weight must not be negative."));
        }

        if (weight > limits.MaxWeight)
        {
            return (null, new FieldError("weight", $"weight must be at most {limits.MaxWeight}."));
        }

        if (CheckMetadata(Metadata, limits) is { } metadataError)
        {
            return (null, metadataError);
        }

        var persistent = Persistent ?? false;
        if (persistent && TtlSeconds is not null)
        {
            return (null, new FieldError("ttlSeconds", "ttlSeconds does not apply to a persistent instance: it has no lease. Leave one of them out."));
        }

        var ttl = TtlSeconds ?? (int)options.DefaultTtl.TotalSeconds;
        if (!persistent && (ttl < options.MinTtl.TotalSeconds || ttl > options.MaxTtl.TotalSeconds))
        {
            return (null, new FieldError(
                "ttlSeconds", $"ttlSeconds must be between {options.MinTtl.TotalSeconds} and {options.MaxTtl.TotalSeconds}."));
        }

        var pool = StringPool.Shared;
        return (new Registration(
            Address!,
            Port.Value,
            pool.Intern(scheme),
            Zone is null ? string.Empty : pool.Intern(Zone),
            Version is null ? string.Empty : pool.Intern(Version),
            weight,
            InstanceMetadata.From(Metadata),
            persistent ? InstanceKind.Persistent : InstanceKind.Ephemeral,
            persistent ? 0 : ttl), null);
    }

    private static FieldError? CheckLabel(string field, string? value, RegistryLimits limits)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > limits.MaxLabelLength)
        {
            return new FieldError(field, $"{field} is longer than {limits.MaxLabelLength} characters.");
        }

        return HasControl(value) ? new FieldError(field, $"{field} must not contain control characters.") : null;
    }

    private static bool HasControl(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }

    private static FieldError? CheckMetadata(IReadOnlyCollection<KeyValuePair<string, string>>? metadata, RegistryLimits limits)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Count > limits.MaxMetadataKeys)
        {
            return new FieldError("metadata", $"metadata has more than {limits.MaxMetadataKeys} keys.");
        }

        var total = 0;
        foreach (var (key, value) in metadata)
        {
            if (key.Length == 0 || key.Length > limits.MaxMetadataKeyLength || HasControl(key))
            {
                return new FieldError(
                    $"metadata.{key}", $"metadata keys must be 1 to {limits.MaxMetadataKeyLength} characters without control characters.");
            }

            if (value is null)
            {
                return new FieldError($"metadata.{key}", "metadata values must be strings.");
            }

            if (value.Length > limits.MaxMetadataValueLength)
            {
                return new FieldError($"metadata.{key}", $"metadata values must be at most {limits.MaxMetadataValueLength} characters.");
            }

            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        }

        return total > limits.MaxMetadataBytes
            ? new FieldError("metadata", $"metadata is larger than {limits.MaxMetadataBytes} bytes in total.")
            : null;
    }
}
