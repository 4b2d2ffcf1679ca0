// Drives the npm "consul" client (installed by eng/install-node-clients.sh) against a Roster node, as a Node.js
// service would use it, and prints what it sees as JSON lines for ConsulClientTests to check:
// registers web-1 with a TTL check, passes it, reads the catalog and the health API, then watches the passing
// instances of "web" with blocking queries until it reads "stop" on its standard input.
// Usage: node consul-scenario.js HOST PORT
const Consul = require("consul");
const readline = require("readline");

const [host, port] = process.argv.slice(2);
const consul = new Consul({ host, port: Number(port) });
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

async function main() {
  await consul.agent.service.register({
    name: "web",
    id: "web-1",
    address: "10.2.0.1",
    port: 8080,
    tags: ["js"],
    meta: { runtime: "node" },
    check: { ttl: "4s" },
  });
  say({ step: "registered" });

  await consul.agent.check.pass({ id: "service:web-1" });
  say({ step: "passed" });

  const nodes = await consul.catalog.service.nodes("web");
  say({ step: "catalog", ids: nodes.map((n) => n.ServiceID), tags: nodes.flatMap((n) => n.ServiceTags) });

  const healthy = await consul.health.service({ service: "web", passing: true });
  say({ step: "health", ids: healthy.map((e) => e.Service.ID) });

  const watch = consul.watch({
    method: consul.health.service,
    options: { service: "web", passing: true, wait: "30s" },
    backoffFactor: 100,
  });
  watch.on("change", (data, res) => say({ step: "watch", ids: data.map((e) => e.Service.ID).sort(), index: res.headers["x-consul-index"] }));
  watch.on("error", (err) => say({ step: "error", message: String(err && err.message) }));

  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "stop") {
      watch.end();
      say({ step: "stopped" });
      process.exit(0);
    }
  });
}

main().catch((err) => {
  say({ step: "failed", message: String(err && err.message) });
  process.exit(1);
});
