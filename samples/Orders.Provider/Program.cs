// A provider of the "orders" service. Run it with a registry: `roster serve`, then
//   dotnet run --project samples/Orders.Provider -- --urls http://127.0.0.1:0
// Start several; stop one with Ctrl+C: it drains (consumers stop sending to it) before it exits.
using Roster.Client;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRoster(roster => roster.Servers.Add(new Uri(builder.Configuration["Roster:Server"] ?? "http://127.0.0.1:8080")))
    .AddRegistration(registration =>
    {
        registration.Namespace = "samples";
        registration.Service = "orders";
        registration.InstanceId = builder.Configuration["Roster:InstanceId"];
    })
    .AddServerAddresses(); // registers the address Kestrel listens on, once it listens

var app = builder.Build();
app.UseRosterRejection(); // while draining, new requests get 503 + Roster-Rejection: draining; consumers go elsewhere
app.MapGet("/orders/{id}", (string id) => new { id, servedBy = Environment.ProcessId });
app.Run();
