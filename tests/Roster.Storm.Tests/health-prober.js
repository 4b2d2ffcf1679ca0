// Probes a node's /healthz the way an orchestrator does, from a process of its own (so the fleet's process, its
// threads and its garbage collections, cannot delay a probe or its timing): every 100 ms after the last answer, a new
// TCP connection, "GET /healthz" with "Connection: close", the time until the answer ends. Prints one JSON line per
// probe: {"step":"probe","status":200,"ms":3.1} or {"step":"probe","status":0,"ms":2000,"failure":"..."}.
// Usage: node health-prober.js HOST PORT
const net = require("net");

const [host, port] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

function probe() {
  const started = process.hrtime.bigint();
  const socket = net.connect({ host, port: Number(port) });
  let answer = "";
  let done = false;
  const finish = (failure) => {
    if (done) {
      return;
    }

    done = true;
    socket.destroy();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
    say({ step: "probe", status: status ? Number(status[1]) : 0, ms, failure: failure || undefined });
    setTimeout(probe, 100);
  };

  socket.setNoDelay(true);
  socket.setTimeout(2000, () => finish("no answer within 2 s"));
  socket.on("connect", () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`));
  socket.on("data", (data) => (answer += data.toString("latin1")));
  socket.on("end", () => finish(null));
  socket.on("error", (err) => finish(err.code || String(err)));
}

probe();
