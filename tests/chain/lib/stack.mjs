// The whole setup a test runs against: the chain, two official facilitators (primary and backup, so failover is
// real), optionally a redis-server, one or more gateway instances (the published Native-AOT binary) in front of the
// facilitators, and an official resource server pointed at the first gateway.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startChain } from "./chain.mjs";
import { ACCOUNTS, REPOSITORY, SUITE, freePort } from "./network.mjs";
import { answers, start, stopAll } from "./processes.mjs";

export const GATEWAY_BINARY = process.env.GATEWAY_BINARY ?? path.join(REPOSITORY, "artifacts", "aot", "Facilitator.Fast");

/** Starts what `options` asks for; `stop()` ends every process by its id. */
export async function startStack({ gateways = 1, redis = false, gatewaySettings = {} } = {}) {
  if (!fs.existsSync(GATEWAY_BINARY)) {
    throw new Error(`The gateway binary ${GATEWAY_BINARY} is missing: ./test.sh publishes it (eng/publish-aot.sh artifacts/aot).`);
  }

  const chain = await startChain();
  const crashFlag = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "facilitator-chain-")), "crash-primary");
  const primary = await Facilitator.start("primary", chain.rpcUrl, ACCOUNTS.primaryFacilitator.key, crashFlag);
  const backup = await Facilitator.start("backup", chain.rpcUrl, ACCOUNTS.backupFacilitator.key);
  const redisServer = redis ? await startRedis() : null;
  const prefix = `chain-${process.pid}-${Date.now()}:`;
  const instances = [];
  for (let i = 0; i < gateways; i++) {
    instances.push(await startGateway(`gateway-${i}`, [primary, backup], redisServer, prefix, gatewaySettings));
  }

  const resourcePort = await freePort();
  const resourceUrl = `http://127.0.0.1:${resourcePort}`;
  await start("resource-server", process.execPath, [path.join(SUITE, "resource-server.mjs")], {
    env: { PORT: String(resourcePort), FACILITATOR_URL: instances[0].url, PAY_TO: ACCOUNTS.payee.address },
    ready: () => answers(`${resourceUrl}/health`),
  });

  return { chain, primary, backup, redis: redisServer, gateways: instances, resourceUrl, stop: stopAll };
}

/** An official facilitator process, restartable on its port after it was killed. */
export class Facilitator {
  static async start(name, rpcUrl, key, crashFlag) {
    const facilitator = new Facilitator(name, rpcUrl, key, crashFlag, await freePort());
    await facilitator.restart();
    return facilitator;
  }

  constructor(name, rpcUrl, key, crashFlag, port) {
    Object.assign(this, { name, rpcUrl, key, crashFlag, port, url: `http://127.0.0.1:${port}` });
  }

  async restart() {
    this.process = await start(`facilitator-${this.name}`, process.execPath, [path.join(SUITE, "facilitator.mjs")], {
      // anvil mines each transaction at once; a receipt that has not come in 3 s is a chain that stopped mining.
      env: { RPC_URL: this.rpcUrl, PORT: String(this.port), FACILITATOR_KEY: this.key, CRASH_FLAG: this.crashFlag ?? "", CONFIRMATION_TIMEOUT_MS: "3000" },
      ready: () => answers(`${this.url}/supported`),
    });
  }

  /** Requests it received since it (re)started: { verify, settle }. */
  async counts() {
    return (await fetch(`${this.url}/counts`)).json();
  }

  /** The next settle it broadcasts kills it before it answers. */
  crashAfterNextBroadcast() {
    fs.writeFileSync(this.crashFlag, "");
  }

  async post(operation, body) {
    const response = await fetch(`${this.url}/${operation}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }
}

async function startRedis() {
  const port = await freePort();
  const process = await start("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    ready: async () => {
      const { default: net } = await import("node:net");
      return new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
        socket.once("data", (data) => { socket.destroy(); resolve(data.toString().startsWith("+PONG")); });
        socket.once("error", () => resolve(false));
      });
    },
  });
  return { port, process, connectionString: `127.0.0.1:${port}` };
}

async function startGateway(name, upstreams, redis, prefix, settings) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ASPNETCORE_URLS: url,
    RateLimit__Enabled: "false",
    Logging__LogLevel__Default: "Warning",
    ...settings,
  };
  upstreams.forEach((upstream, i) => {
    env[`Upstreams__${i}__Id`] = upstream.name;
    env[`Upstreams__${i}__Url`] = upstream.url;
  });
  if (redis) {
    env.Redis__ConnectionString = redis.connectionString;
    env.Redis__KeyPrefix = prefix;
  }

  const process = await start(name, GATEWAY_BINARY, [], { env, cwd: path.dirname(GATEWAY_BINARY), ready: () => answers(`${url}/health/ready`) });
  return {
    name,
    url,
    process,
    async post(operation, body) {
      const response = await fetch(`${url}/${operation}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
  };
}
