// A provider of the "orders" service. Run it with a registry: `roster serve`, then
//   dotnet run --project samples/Orders.Provider -- --urls http://127.0.0.1:0
// Start several; stop one with Ctrl+C: it drains (consumers stop sending to it) before it exits.
// Settings are in appsettings.json ("Roster" section); any can be overridden on the command line,
// e.g. --Roster:Servers:0=http://127.0.0.1:9090 --Roster:Registration:TtlSeconds=5
using Roster.Client;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRoster(builder.Configuration.GetSection("Roster"))
    .AddRegistration()     // namespace, service, TTL, drain period from Roster:Registration
    .AddServerAddresses(); // registers the address Kestrel listens on, once it listens

var app = builder.Build();
app.UseRosterRejection(); // while draining, new requests get 503 + Roster-Rejection: draining; consumers go elsewhere
app.MapGet("/orders/{id}", (string id) => new { id, servedBy = Environment.ProcessId });
app.MapRosterStatus();    // GET /roster/status: what this process sees of Roster
app.Run();
