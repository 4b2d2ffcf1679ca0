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
        var text = string.Join(
            '\n',
            instance.Id,
            r.Address,
            r.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            r.Scheme,
            r.Zone,
            r.Version,
            r.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            instance.EffectiveWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
            o.Drained ? "1" : "0",
            o.Disabled ? "1" : "0",
            instance.Incarnation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            string.Empty);
        var hash = Fnv1a(FnvOffset, Encoding.UTF8.GetBytes(text));
        hash = Fnv1a(hash, r.Metadata.Utf8Json);

        // 0 means "not computed yet" in InstanceRecord's cache; the chance of a real 0 is 2^-64,
        // and mapping it to 1 keeps the cache correct.
        return hash == 0 ? 1 : hash;
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
