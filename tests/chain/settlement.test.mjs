// Settlement through the gateway on a real chain: the official client pays the official resource server, which
// verifies and settles through the gateway in front of two official facilitators; and the money paths that only a
// chain can show, each judged by the chain's own state (balances, authorizationState, receipts), not by answers.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { x402Client } from "@x402/core/client";
import { ExactEvmScheme } from "@x402/evm";
import { decodePaymentResponseHeader, wrapFetchWithPayment } from "@x402/fetch";
import { ACCOUNTS, eventually, nowSeconds } from "./lib/network.mjs";
import { PRICE, authorizationOf, pay, resign } from "./lib/payments.mjs";
import { startStack } from "./lib/stack.mjs";

describe("settlement on chain through two gateway instances", () => {
  let stack;
  let gateway;
  let other;

  before(async () => {
    stack = await startStack({ gateways: 2, redis: true, gatewaySettings: { Settlement__LeaseMs: "3000", Settlement__WaitMs: "1000" } });
    [gateway, other] = stack.gateways;
  });

  after(async () => stack?.stop());

  const balances = async () => ({ payer: await stack.chain.balanceOf(ACCOUNTS.payer.address), payee: await stack.chain.balanceOf(ACCOUNTS.payee.address) });

  async function assertSettledOnce(body, before, answer) {
    assert.equal(answer.success, true, JSON.stringify(answer));
    const receipt = await stack.chain.receipt(answer.transaction);
    assert.equal(receipt.status, "success");
    const after = await balances();
    assert.equal(before.payer - after.payer, PRICE, "the payer paid exactly the price, once");
    assert.equal(after.payee - before.payee, PRICE, "the payee received exactly the price, once");
    const { from, nonce } = authorizationOf(body);
    assert.equal(await stack.chain.authorizationState(from, nonce), true);
  }

  test("Pay_OfficialClientThroughOfficialMiddleware_PaidOnChainAndServed", async () => {
    const before = await balances();
    const client = new x402Client().register("eip155:*", new ExactEvmScheme(privateKeyToAccount(ACCOUNTS.payer.key)));

    const response = await wrapFetchWithPayment(fetch, client)(`${stack.resourceUrl}/premium`);

    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { content: "premium" });
    const settled = decodePaymentResponseHeader(response.headers.get("payment-response"));
    assert.equal(settled.success, true);
    const receipt = await stack.chain.receipt(settled.transaction);
    assert.equal(receipt.status, "success");
    const after = await balances();
    assert.equal(before.payer - after.payer, PRICE);
    assert.equal(after.payee - before.payee, PRICE);
  });

  for (const version of [1, 2]) {
    test(`VerifyThenSettle_V${version}PaymentOfTheOfficialClient_TransferredExactlyOnce`, async () => {
      const body = await pay({ version });
      const before = await balances();

      const verified = await gateway.post("verify", body);
      const settled = await gateway.post("settle", body);

      assert.equal(verified.status, 200);
      assert.equal(verified.body.isValid, true, JSON.stringify(verified.body));
      assert.equal(verified.headers.get("x-facilitator-local-verdict"), "valid");
      assert.equal(settled.status, 200);
      await assertSettledOnce(body, before, settled.body);
    });
  }

  test("Settle_SameAuthorizationAgainSequentially_OneTransferAndTheSameAnswer", async () => {
    const body = await pay();
    const before = await balances();

    const first = await gateway.post("settle", body);
    const second = await gateway.post("settle", body);
    const onTheOtherInstance = await other.post("settle", body);

    await assertSettledOnce(body, before, first.body);
    for (const repeat of [second, onTheOtherInstance]) {
      assert.deepEqual(repeat.body, first.body);
      assert.equal(repeat.headers.get("x-facilitator-settlement"), "replayed");
    }
  });

  test("Settle_SameAuthorizationConcurrentlyOnBothInstances_OneTransferAndEveryCallerTheSameAnswer", async () => {
    const body = await pay();
    const before = await balances();
    const settlesBefore = (await stack.primary.counts()).settle + (await stack.backup.counts()).settle;

    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? gateway : other).post("settle", body)));

    await assertSettledOnce(body, before, answers[0].body);
    for (const answer of answers) {
      assert.deepEqual(answer.body, answers[0].body);
    }

    const settlesAfter = (await stack.primary.counts()).settle + (await stack.backup.counts()).settle;
    assert.equal(settlesAfter - settlesBefore, 1, "one settle reached a facilitator");
  });

  test("Settle_SecondAuthorizationReusingASettledNonce_RefusedAndNothingMoves", async () => {
    const body = await pay();
    const settled = await gateway.post("settle", body);
    assert.equal(settled.body.success, true);
    const bigger = await resign(body, { value: String(PRICE * 5000n) });
    bigger.paymentRequirements = { ...bigger.paymentRequirements, amount: String(PRICE * 5000n) };
    bigger.paymentPayload = { ...bigger.paymentPayload, accepted: bigger.paymentRequirements };
    const before = await balances();
    const settlesBefore = (await stack.primary.counts()).settle;

    for (const instance of [gateway, other]) {
      const refused = await instance.post("settle", bigger);
      assert.equal(refused.status, 200);
      assert.equal(refused.body.success, false);
      assert.equal(refused.body.errorReason, "invalid_exact_evm_nonce_already_used");
      assert.equal(refused.headers.get("x-facilitator-settlement"), "refused");
    }

    assert.deepEqual(await balances(), before);
    assert.equal((await stack.primary.counts()).settle, settlesBefore);
  });

  test("Settle_AuthorizationExpiresBetweenVerifyAndSettle_RefusedAndNothingMoves", async () => {
    const fresh = await pay();
    const validBefore = nowSeconds() + 10;
    const body = await resign(fresh, { validAfter: String(nowSeconds() - 600), validBefore: String(validBefore) });
    const verified = await gateway.post("verify", body);
    assert.equal(verified.body.isValid, true, JSON.stringify(verified.body));
    const before = await balances();

    // By the time of the settle it expires within the 6 s every facilitator requires.
    await eventually(() => nowSeconds() > validBefore - 6, "the authorization is about to expire", 15_000);
    const settled = await gateway.post("settle", body);

    assert.equal(settled.body.success, false);
    assert.equal(settled.body.errorReason, "invalid_exact_evm_payload_authorization_valid_before");
    assert.deepEqual(await balances(), before);
    const { from, nonce } = authorizationOf(body);
    assert.equal(await stack.chain.authorizationState(from, nonce), false);
  });

  test("Settle_PayerWithoutTheBalance_RefusedByTheFacilitatorAndNothingMoves", async () => {
    const body = await pay({ payerKey: ACCOUNTS.poorPayer.key });
    const before = await stack.chain.balanceOf(ACCOUNTS.payee.address);

    const verified = await gateway.post("verify", body);
    const settled = await gateway.post("settle", body);

    assert.equal(verified.body.isValid, false);
    assert.equal(verified.body.invalidReason, "invalid_exact_evm_insufficient_balance");
    assert.equal(settled.body.success, false);
    assert.equal(settled.body.errorReason, "invalid_exact_evm_insufficient_balance");
    assert.equal(await stack.chain.balanceOf(ACCOUNTS.payee.address), before);
    const { from, nonce } = authorizationOf(body);
    assert.equal(await stack.chain.authorizationState(from, nonce), false);
  });

  test("Settle_PrimaryDiesAfterBroadcastingBeforeAnswering_PendingNoSecondTransferAndTheOutcomeOnChain", async () => {
    const body = await pay();
    const before = await balances();
    const backupSettles = (await stack.backup.counts()).settle;
    stack.primary.crashAfterNextBroadcast();

    const first = await gateway.post("settle", body);

    assert.equal(first.status, 202);
    assert.equal(first.body.errorReason, "settlement_pending");
    assert.equal(first.headers.get("x-facilitator-upstream"), "primary");
    await eventually(() => stack.primary.process.exited, "the primary died");

    // The broadcast transaction landed: the payment happened although nobody was told.
    const { from, nonce } = authorizationOf(body);
    await eventually(async () => (await stack.chain.authorizationState(from, nonce)) === true, "the broadcast transfer is on chain");
    const paid = await balances();
    assert.equal(before.payer - paid.payer, PRICE);
    assert.equal(paid.payee - before.payee, PRICE);

    // Repeats, on either instance, while the primary is down or after it is back: never the backup.
    for (const instance of [gateway, other]) {
      const repeat = await instance.post("settle", body);
      assert.equal(repeat.status, 202, JSON.stringify(repeat.body));
      assert.equal(repeat.headers.get("x-facilitator-upstream"), "primary");
    }

    await stack.primary.restart();
    await eventually(async () => {
      const repeat = await other.post("settle", body);
      return repeat.status === 202 && (await stack.primary.counts()).settle > 0;
    }, "a repeat after the lease lapsed is retried at the primary", 20_000);

    assert.equal((await stack.backup.counts()).settle, backupSettles, "the backup never received the settlement");
    const after = await balances();
    assert.equal(before.payer - after.payer, PRICE, "still exactly one transfer");
    assert.equal(after.payee - before.payee, PRICE);
  });

  for (const version of [1, 2]) {
    test(`Settle_V${version}ReceiptDoesNotComeInTime_PendingAtThePrimaryNeverTheBackupAndOneTransferOnceMined`, async () => {
      const body = await pay({ version });
      const before = await balances();
      const backupSettles = (await stack.backup.counts()).settle;
      await stack.chain.automine(false);
      try {
        // The official facilitator broadcasts, waits 3 s for a receipt, and answers without one: v2 with its
        // settlement_pending and the transaction, v1 with a failure that is only an exception's text.
        const first = await gateway.post("settle", body);
        assert.equal(first.status, 202, JSON.stringify(first.body));
        assert.equal(first.body.errorReason, "settlement_pending");
        assert.equal(first.headers.get("x-facilitator-upstream"), "primary");
        if (version === 2) {
          assert.match(first.body.transaction, /^0x[0-9a-f]{64}$/);
        }

        const repeat = await other.post("settle", body);
        assert.equal(repeat.status, 202, JSON.stringify(repeat.body));
        assert.equal(repeat.headers.get("x-facilitator-upstream"), "primary");
      } finally {
        await stack.chain.automine(true);
        await stack.chain.mine();
      }

      const { from, nonce } = authorizationOf(body);
      await eventually(async () => (await stack.chain.authorizationState(from, nonce)) === true, "the transfer is mined");
      await gateway.post("settle", body);
      assert.equal((await stack.backup.counts()).settle, backupSettles, "the backup never received the settlement");
      const after = await balances();
      assert.equal(before.payer - after.payer, PRICE, "exactly one transfer");
      assert.equal(after.payee - before.payee, PRICE);
    });
  }
});
