// A resource server with the official x402 middleware (@x402/express, x402 v2): GET /premium costs $0.01 of USDC on
// Base Sepolia, verified and settled through FACILITATOR_URL (the gateway). Env: PORT, FACILITATOR_URL, PAY_TO.
import express from "express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";

const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: process.env.FACILITATOR_URL }))
  .register("eip155:84532", new ExactEvmScheme());

const app = express();
app.get("/health", (_request, response) => response.json({ ok: true }));
app.use(paymentMiddleware({
  "GET /premium": {
    accepts: { scheme: "exact", price: "$0.01", network: "eip155:84532", payTo: process.env.PAY_TO, maxTimeoutSeconds: 120 },
    description: "Premium content",
    mimeType: "application/json",
  },
}, server));
app.get("/premium", (_request, response) => response.json({ content: "premium" }));

app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`resource server on ${process.env.PORT}`));
