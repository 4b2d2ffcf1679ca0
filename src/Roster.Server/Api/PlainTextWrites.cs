using Roster.Core.Log;
using Roster.Core.Node;
using Roster.Core.StateMachine;

namespace Roster.Server.Api;

/// <summary>
/// Answers as the Consul and Eureka APIs give them: a status and a short line of text (their clients read the status),
/// and a change submitted to the node with its outcome and failures turned into such answers.
/// </summary>
internal static class PlainTextWrites
{
    public static IResult Text(int status, string message) => Results.Text(message + "\n", statusCode: status);

    /// <summary>
    /// Submits <paramref name="change"/>: <paramref name="success"/> when applied (or already so), 404 with
    /// <paramref name="notFound"/>, 409 when the <paramref name="what"/> was registered again meanwhile, and 503 with
    /// <c>Retry-After</c> when the node cannot make the change now.
    /// </summary>
    public static async Task<IResult> SubmitAsync(
        RegistryNode node, Change change, WriteAuthor? author, HttpContext context, IResult success, string notFound, string what)
    {
        try
        {
            var outcome = await node.SubmitAsync(change, author, context.RequestAborted).ConfigureAwait(false);
            return outcome.Status switch
            {
                OutcomeStatus.NotFound => Text(404, notFound),
                OutcomeStatus.StaleIncarnation => Text(409, $"The {what} was registered again meanwhile; retry."),
                _ => success,
            };
        }
        catch (Exception e) when (e is NodeNotReadyException or TimeoutException or StorageUnavailableException or LogUnavailableException)
        {
            context.Response.Headers.RetryAfter = "1";
            return Text(503, "Roster could not make the change now (" + e.Message + "); retry");
        }
    }
}
