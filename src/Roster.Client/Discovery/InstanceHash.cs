using System.Buffers;
using System.Globalization;
using System.Text;
using Roster.Client.Api;

namespace Roster.Client.Discovery;

/// <summary>
/// The registry's per-instance digest, reproduced so the consumer can check the list it built from
/// events against the digest every event and snapshot carries. The algorithm is the registry's: 64-bit
/// FNV-1a over <c>id \n address \n port \n scheme \n zone \n version \n weight \n effectiveWeight \n
/// drained \n disabled \n incarnation \n metadata-json</c>; a service's digest is the XOR of its
/// instances' hashes, 0 when empty.
/// </summary>
internal static class InstanceHash
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public static ulong Compute(InstanceData instance)
    {
        var hash = Text(FnvOffset, instance.Id);
        hash = Text(hash, instance.Address);
        hash = Number(hash, instance.Port);
        hash = Text(hash, instance.Scheme);
        hash = Text(hash, instance.Zone);
        hash = Text(hash, instance.Version);
        hash = Number(hash, instance.Weight);
        hash = Number(hash, instance.EffectiveWeight);
        hash = Number(hash, instance.Drained ? 1 : 0);
        hash = Number(hash, instance.Disabled ? 1 : 0);
        hash = Number(hash, instance.Incarnation);

        // The registry writes metadata in its canonical compact form and the reader keeps the raw text,
        // so hashing that text reproduces the registry's bytes.
        hash = Text(hash, instance.Metadata.ValueKind == System.Text.Json.JsonValueKind.Undefined ? "{}" : instance.Metadata.GetRawText(), newline: false);
        return hash == 0 ? 1 : hash;
    }

    /// <summary>The digest's text form: 16 lower-case hex digits.</summary>
    public static string Format(ulong digest) => digest.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>Parses <see cref="Format"/>'s text; false for anything else.</summary>
    public static bool TryParse(string? text, out ulong digest) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out digest) && text!.Length == 16;

    private static ulong Text(ulong hash, string value, bool newline = true)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        var length = Encoding.UTF8.GetBytes(value, buffer);
        hash = Fnv1a(hash, buffer[..length]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return newline ? Fnv1a(hash, "\n"u8) : hash;
    }

    private static ulong Number(ulong hash, long value)
    {
        Span<byte> buffer = stackalloc byte[20];
        value.TryFormat(buffer, out var length, default, CultureInfo.InvariantCulture);
        return Fnv1a(Fnv1a(hash, buffer[..length]), "\n"u8);
    }

    private static ulong Fnv1a(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= FnvPrime;
        }

        return hash;
    }
}
