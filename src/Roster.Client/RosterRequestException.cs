using System.Net;

namespace Roster.Client;

/// <summary>The registry refused the call (a 4xx problem): retrying it unchanged will not help.</summary>
public sealed class RosterRequestException : Exception
{
    /// <summary>Creates the exception from the registry's RFC 7807 problem.</summary>
    public RosterRequestException(HttpStatusCode status, string title, string? detail, string? field)
        : base($"{(int)status} {title}{(detail is null ? "" : ": " + detail)}{(field is null ? "" : $" (field {field})")}")
    {
        Status = status;
        Title = title;
        Detail = detail;
        Field = field;
    }

    /// <summary>Creates the exception with a default message.</summary>
    public RosterRequestException()
        : this(HttpStatusCode.BadRequest, "Refused", null, null)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RosterRequestException(string message)
        : base(message)
    {
        Title = message;
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public RosterRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Title = message;
    }

    /// <summary>The HTTP status, such as 400, 404 or 409.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The problem's title.</summary>
    public string Title { get; } = "";

    /// <summary>The problem's detail, when given.</summary>
    public string? Detail { get; }

    /// <summary>The request field the problem names, when it names one (for example <c>port</c>).</summary>
    public string? Field { get; }
}
