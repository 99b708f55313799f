// A TCP proxy for the stalled-connection tests (test/support/stalling.ts StallingProxy runs it):
//   node stalling-proxy.ts HOST PORT   prints "listening <port>", forwards each connection to HOST:PORT.
// On SIGUSR1 it freezes every connection open at that moment: they stay open and nothing more crosses
// them either way, not even a close; connections made afterwards forward as usual. It prints
// "stalled <n>". What a load balancer that lost a connection's state looks like to a client.
import { connect, createServer, type Socket } from "node:net";

const [host = "", port = ""] = process.argv.slice(2);
const pairs = new Set<[Socket, Socket]>();
const frozen: Socket[] = [];

const server = createServer((client) => {
  const upstream = connect(Number(port), host);
  const pair: [Socket, Socket] = [client, upstream];
  pairs.add(pair);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = (): void => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of pair) s.on("error", close).on("close", close);
});

process.on("SIGUSR1", () => {
  const n = pairs.size;
  for (const [client, upstream] of pairs) {
    client.unpipe(upstream);
    upstream.unpipe(client);
    for (const s of [client, upstream]) {
      s.pause();
      s.removeAllListeners("close").removeAllListeners("end").removeAllListeners("error");
      s.on("error", () => undefined);
      frozen.push(s);
    }
  }
  pairs.clear();
  process.stdout.write(`stalled ${n}\n`);
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`);
});
