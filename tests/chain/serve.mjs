// The chain and two official facilitators for the load suite's `chain` scenario: prints one JSON line
// ({rpcUrl, chainId, asset, facilitators:[{id,url}], control}) and serves, on `control`, what the scenario asks of
// the chain: POST /mint {to, amount} and GET /state?payer=&payee= ({payer, payee, transfers} since start). Runs until
// stdin closes or it is signalled; every process it started is ended by its id.
import http from "node:http";
import { ACCOUNTS, CHAIN_ID, USDC, freePort } from "./lib/network.mjs";
import { stopAll } from "./lib/processes.mjs";
import { startChain } from "./lib/chain.mjs";
import { Facilitator } from "./lib/stack.mjs";

const chain = await startChain();
const primary = await Facilitator.start("primary", chain.rpcUrl, ACCOUNTS.primaryFacilitator.key);
const backup = await Facilitator.start("backup", chain.rpcUrl, ACCOUNTS.backupFacilitator.key);
const firstBlock = await chain.blockNumber();

const control = http.createServer(async (request, response) => {
  try {
    const url = new URL(request.url, "http://127.0.0.1");
    let answer;
    if (request.method === "POST" && url.pathname === "/mint") {
      let text = "";
      for await (const chunk of request) {
        text += chunk;
      }

      const { to, amount } = JSON.parse(text);
      await chain.mint(to, BigInt(amount));
      answer = { minted: amount };
    } else if (url.pathname === "/state") {
      const payer = url.searchParams.get("payer");
      const payee = url.searchParams.get("payee");
      const transfers = await chain.transfers(payer, payee, firstBlock);
      answer = {
        payer: (await chain.balanceOf(payer)).toString(),
        payee: (await chain.balanceOf(payee)).toString(),
        transfers: transfers.length,
        transferred: transfers.reduce((sum, log) => sum + log.args.value, 0n).toString(),
      };
    } else {
      response.writeHead(404).end();
      return;
    }

    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  } catch (error) {
    response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(error?.message ?? error) }));
  }
});
const controlPort = await freePort();
await new Promise((resolve) => control.listen(controlPort, "127.0.0.1", resolve));

console.log(JSON.stringify({
  rpcUrl: chain.rpcUrl,
  chainId: CHAIN_ID,
  asset: USDC,
  facilitators: [{ id: primary.name, url: primary.url }, { id: backup.name, url: backup.url }],
  control: `http://127.0.0.1:${controlPort}`,
}));

async function shutdown() {
  control.close();
  await stopAll();
  process.exit(0);
}

process.stdin.on("end", shutdown);
process.stdin.resume();
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
