using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Roster.Client.Hosting;

/// <summary>
/// Checks the client's options when the host starts (<c>ValidateOnStart</c>), so a setting that cannot work
/// stops the host at once with a message naming it, rather than at the first call. The rules are the
/// options' own <c>Validate()</c>, which code that builds the types without a host still runs.
/// </summary>
internal sealed class RosterClientOptionsValidator : IValidateOptions<RosterClientOptions>
{
    public ValidateOptionsResult Validate(string? name, RosterClientOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}

/// <summary>
/// Checks the discovery options once, when the host starts, naming the setting. Not an
/// <see cref="IValidateOptions{TOptions}"/>: those run on every configuration reload too and throw from the
/// reload, where a reload that cannot work must instead be refused with a warning, keeping the last good
/// settings (<see cref="Discovery.DiscoverySettings"/>).
/// </summary>
internal sealed class RosterDiscoveryStartupCheck(IOptionsMonitor<RosterDiscoveryOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            options.CurrentValue.Validate();
        }
        catch (ArgumentException e)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(RosterDiscoveryOptions), [e.Message]);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
