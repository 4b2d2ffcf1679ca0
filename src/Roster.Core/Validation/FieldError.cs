namespace Roster.Core.Validation;

/// <summary>Why a field was refused, in words a client developer can act on.</summary>
/// <param name="Field">The field, as named in the request (<c>port</c>, <c>metadata.owner</c>, <c>leases[3].id</c>).</param>
/// <param name="Message">What is wrong and what is allowed.</param>
public sealed record FieldError(string Field, string Message);
