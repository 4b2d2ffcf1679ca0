using System.Buffers.Binary;
using System.Text;

namespace Roster.Core.Model;

/// <summary>
/// The digest of a service's instance list, so a client can check its cached list against the
/// registry's without fetching it.
/// <para>
/// Algorithm (clients reproduce it): each instance hashes, with 64-bit FNV-1a, the UTF-8 of
/// <c>id \n address \n port \n scheme \n zone \n version \n weight \n effectiveWeight \n drained \n disabled \n incarnation \n metadata-json</c>
/// (numbers in invariant decimal, booleans as 0/1, metadata in canonical form: keys sorted ordinally,
/// compact JSON). The service digest is the XOR of its instances' hashes, written as 16 lower-case hex
/// digits; the empty service has digest 0. XOR makes it order-free and updatable in O(1) per change.
/// </para>
/// </summary>
public static class InstanceDigest
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public static ulong Compute(InstanceRecord instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var r = instance.Registration;
        var o = instance.Operator;

        // Field by field, each followed by '\n': the same bytes as the documented text, without building it.
        var hash = String(FnvOffset, instance.Id);
        hash = String(hash, r.Address);
        hash = Number(hash, r.Port);
        hash = String(hash, r.Scheme);
        hash = String(hash, r.Zone);
        hash = String(hash, r.Version);
        hash = Number(hash, r.Weight);
        hash = Number(hash, instance.EffectiveWeight);
        hash = Number(hash, o.Drained ? 1 : 0);
        hash = Number(hash, o.Disabled ? 1 : 0);
        hash = Number(hash, instance.Incarnation);
        hash = Fnv1a(hash, r.Metadata.Utf8Json);

        // 0 stands for the empty service; the chance of a real 0 is 2^-64, and mapping it to 1 keeps an
        // instance from vanishing from its service's digest.
        return hash == 0 ? 1 : hash;
    }

    private static ulong String(ulong hash, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = max <= 1024 ? stackalloc byte[1024] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        var length = Encoding.UTF8.GetBytes(value, buffer);
        hash = Fnv1a(hash, buffer[..length]);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return Fnv1a(hash, "\n"u8);
    }

    private static ulong Number(ulong hash, long value)
    {
        Span<byte> buffer = stackalloc byte[20];
        value.TryFormat(buffer, out var length, default, System.Globalization.CultureInfo.InvariantCulture);
        return Fnv1a(Fnv1a(hash, buffer[..length]), "\n"u8);
    }

    public static string Format(ulong digest)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, digest);
        return Convert.ToHexStringLower(bytes);
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
