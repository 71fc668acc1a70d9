// sign({ chain }): a signature prepared and hashed while the relay cannot be reached, with
// the chain an earlier signature returned (SignResult.chain), and signed when the relay
// is back: one sign frame, nothing prepared twice, every signature valid. A chain that is no
// longer the relay's (another relay's seal here, as after a re-issued certificate) is
// prepared again with the relay's before anything is signed. Real relay, real WASM.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { WebSocketServer } from "ws";
import * as veilsign from "../dist/veilsign.js";
import { assertNoDocumentBytes, box, checkSigned, demoToken, pdf, recordingWebSocket, startRelay } from "./helpers.mjs";

let relay;
let other;
const rec = recordingWebSocket();

before(async () => {
  relay = await startRelay();
  await veilsign.initialize({ WebSocket: rec.WebSocket });
});
after(async () => {
  veilsign.terminate();
  await relay?.stop();
  await other?.stop();
});

const plan = {
  signers: [
    { label: "A", name: "Ann Pen", method: "pen", field: { page: 1, rect: box(40, 60) } },
    { label: "B", name: "Bob Pen", method: "pen", field: { page: 1, rect: box(240, 60) } },
    { label: "C", name: "Cleo Pen", method: "pen", field: { page: 1, rect: box(40, 140) } },
  ],
};
const ink = [[[0.1, 0.2], [0.4, 0.8], [0.7, 0.3], [0.9, 0.6]]];
const pen = (label, name, extra) => ({ relay: relay.base, signer: { name }, method: "pen", label, plan, ink, ...extra });

const frames = (from) => rec.frames.slice(from).map((f) => JSON.parse(f.toString("utf8")));
const same = (a, b) => a.length === b.length && a.every((c, i) => Buffer.from(c).equals(Buffer.from(b[i])));

async function until(cond, what, ms = 30_000) {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * sign() with the seal chain against relayURL, aborted at the third "waiting-for-relay";
 * resolves to those three messages once sign() has rejected with "aborted".
 */
async function waitThreeTimes(doc, seal, relayURL, extra) {
  await veilsign.open(doc);
  const ctl = new AbortController();
  const waits = [];
  const p = veilsign.sign(
    pen("B", "Bob Pen", {
      relay: relayURL,
      chain: seal,
      signal: ctl.signal,
      onStatus: (s) => {
        if (s.step !== "waiting-for-relay") return;
        waits.push(s.message);
        if (waits.length === 3) ctl.abort();
      },
      ...extra,
    }),
  );
  await assert.rejects(p, { code: "aborted" });
  assert.equal(waits.length, 3);
  return waits;
}

describe("sign({ chain }): prepare before the relay answers", { timeout: 240_000 }, () => {
  const original = pdf("libreoffice-7.4-writer-xref-table.pdf");
  const results = [];
  let seal; // the relay's seal chain, as the first signature returned it

  test("an online signature returns the chain it was made with", async () => {
    await veilsign.open(original);
    const steps = [];
    const res = await veilsign.sign(pen("A", "Ann Pen", { token: await demoToken(relay.base, "ann.pen"), onStatus: (s) => steps.push(s.step) }));
    assert.equal(res.preparedAhead, false);
    assert.ok(Array.isArray(res.chain) && res.chain.length >= 2, `chain of ${res.chain?.length}`);
    assert.ok(res.chain.every((c) => c instanceof Uint8Array && c[0] === 0x30), "not DER certificates");
    // Without a chain nothing changed: identify, then prepare.
    assert.ok(steps.indexOf("identifying") < steps.indexOf("preparing"), steps.join(" → "));
    assert.ok(!steps.includes("prepared") && !steps.includes("waiting-for-relay"), steps.join(" → "));
    await checkSigned(veilsign, relay, res.bytes, 1);
    seal = res.chain;
    results.push(Buffer.from(res.bytes));
  });

  test("waiting for the relay ends with the signal; nothing was sent and the document stays open", async () => {
    assert.ok(results[0] && seal, "needs the first signature");
    await relay.kill();
    await veilsign.open(results[0]);
    const layout = await veilsign.preflight(plan, "B");
    const from = rec.frames.length;
    const ctl = new AbortController();
    const steps = [];
    const p = veilsign.sign(
      pen("B", "Bob Pen", {
        token: () => assert.fail("the token is asked for only once the relay answers"),
        chain: seal,
        signal: ctl.signal,
        onStatus: (s) => {
          steps.push(s.step);
          if (s.step === "waiting-for-relay") ctl.abort();
        },
      }),
    );
    await assert.rejects(p, { code: "aborted" });
    assert.deepEqual(steps.slice(0, 4), ["preparing", "prepared", "connecting", "waiting-for-relay"]);
    assert.equal(rec.frames.length, from, "a frame was sent");
    assert.deepEqual(await veilsign.preflight(plan, "B"), layout);
  });

  test("a relay that accepts the connection and never answers is retried, each attempt bounded by connectTimeoutMs", async () => {
    assert.ok(results[0] && seal, "needs the first signature");
    // A black hole: the TCP connection is accepted, the websocket upgrade never answered.
    const held = [];
    const hole = createServer((sock) => held.push(sock));
    await new Promise((r) => hole.listen(0, "127.0.0.1", r));
    try {
      const from = rec.frames.length;
      const t0 = Date.now();
      const waits = await waitThreeTimes(results[0], seal, `ws://127.0.0.1:${hole.address().port}`, {
        token: () => assert.fail("the token is asked for only once the relay answers"),
        connectTimeoutMs: 300,
      });
      assert.ok(waits.every((m) => /did not answer within/.test(m)), waits.join(" | "));
      assert.ok(Date.now() - t0 < 10_000, `three bounded attempts took ${Date.now() - t0} ms`);
      assert.ok(held.length >= 3, `${held.length} connections reached the silent server`);
      assert.equal(rec.frames.length, from, "a frame was sent");
    } finally {
      for (const sock of held) sock.destroy();
      hole.close();
    }
  });

  test("a relay that refuses for now (a retryable error) is waited for, not given up on", async () => {
    assert.ok(results[0] && seal, "needs the first signature");
    // A relay whose store is down: every hello is answered with the real relay's retryable
    // refusal (relay/internal/server/conn.go), then the connection is closed.
    const hellos = [];
    const busy = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    busy.on("connection", (ws) =>
      ws.on("message", (data) => {
        hellos.push(JSON.parse(data.toString("utf8")));
        ws.send(JSON.stringify({ type: "error", code: "unavailable", message: "The relay cannot store sessions right now; try again later.", retryable: true }));
        ws.close();
      }),
    );
    await new Promise((r) => busy.on("listening", r));
    try {
      let tokens = 0;
      const waits = await waitThreeTimes(results[0], seal, `ws://127.0.0.1:${busy.address().port}`, {
        token: () => (tokens++, "a-token"), // the stub does not look at it
      });
      assert.ok(waits.every((m) => /not taking signatures right now.*cannot store sessions/.test(m)), waits.join(" | "));
      assert.equal(hellos.length, 3, "one hello per attempt");
      assert.ok(hellos.every((h) => h.type === "hello" && !("resume" in h)));
      assert.equal(tokens, 1, "the token is fetched once for all attempts");
    } finally {
      busy.close();
    }
  });

  test("prepared and hashed while the relay is down; signed with one digest when it is back", async () => {
    assert.ok(results[0] && seal, "needs the first signature");
    // The relay is still down (previous test); the document is open again from scratch.
    await veilsign.open(results[0]);
    const given = seal.map((c) => c.slice());
    const from = rec.frames.length;
    const steps = [];
    let tokens = 0;
    const p = veilsign.sign(
      pen("B", "Bob Pen", {
        token: () => (tokens++, demoToken(relay.base, "bob.pen")),
        chain: given,
        onStatus: (s) => steps.push(s.step),
      }),
    );
    await until(() => steps.filter((s) => s === "waiting-for-relay").length >= 3, "three attempts to reach the relay");
    assert.deepEqual(steps.slice(0, 3), ["preparing", "prepared", "connecting"]);
    assert.equal(rec.frames.length, from, "a frame was sent while the relay was down");
    await relay.restart();
    const res = await p;

    assert.equal(tokens, 1);
    assert.equal(steps.filter((s) => s === "preparing").length, 1, `prepared twice: ${steps.join(" → ")}`);
    assert.ok(!steps.includes("chain-changed"), steps.join(" → "));
    const after = steps.slice(steps.lastIndexOf("waiting-for-relay") + 1);
    assert.deepEqual(after.slice(0, 2), ["identifying", "waiting"], steps.join(" → "));
    assert.equal(steps.at(-1), "done");
    assert.equal(res.preparedAhead, true);
    assert.ok(same(res.chain, seal), "the relay's chain is not the one the first signature returned");
    assert.ok(same(given, seal), "the caller's chain was changed or detached");

    const sent = frames(from);
    assert.deepEqual(sent.map((m) => m.type), ["hello", "identify", "sign", "ack"]);
    assert.ok(Buffer.from(res.bytes.subarray(0, results[0].length)).equals(results[0]), "the earlier revision changed");
    const rep = await checkSigned(veilsign, relay, res.bytes, 2);
    assert.deepEqual(rep.signatures.map((s) => s.method), ["pen", "pen"]);
    results.push(Buffer.from(res.bytes));
  });

  test("a final refusal (a token the relay does not accept) ends the wait at once", async () => {
    assert.ok(results[0] && seal, "needs the first signature");
    await veilsign.open(results[0]);
    const steps = [];
    const p = veilsign.sign(pen("B", "Bob Pen", { token: "not-a-token", chain: seal, onStatus: (s) => steps.push(s.step) }));
    await assert.rejects(p, { code: "unauthorized" });
    assert.ok(!steps.includes("waiting-for-relay"), steps.join(", "));
  });

  test("a chain the relay no longer uses is prepared again with the relay's", async () => {
    assert.ok(results[1], "needs the offline signature");
    // Another relay with its own dev PKI: its seal chain stands for a re-issued certificate.
    other = await startRelay();
    const client = new veilsign.RelayClient({ url: other.base, token: await demoToken(other.base, "cleo.pen"), WebSocket: rec.WebSocket });
    await client.connect();
    const stale = await client.identify("pen", { name: "Cleo Pen" });
    client.close();
    await other.stop();
    other = undefined;
    assert.ok(!same(stale, seal), "two relays with the same seal");

    await veilsign.open(results[1]);
    const from = rec.frames.length;
    const steps = [];
    const res = await veilsign.sign(pen("C", "Cleo Pen", { token: await demoToken(relay.base, "cleo.pen"), chain: stale, onStatus: (s) => steps.push(s.step) }));
    const changed = steps.indexOf("chain-changed");
    assert.ok(changed > steps.indexOf("identifying"), steps.join(" → "));
    assert.equal(steps.filter((s) => s === "preparing").length, 2, steps.join(" → "));
    assert.ok(steps.indexOf("preparing", changed) > changed, steps.join(" → "));
    assert.ok(!steps.includes("waiting-for-relay"), steps.join(" → "));
    assert.equal(res.preparedAhead, false);
    assert.ok(same(res.chain, seal), "the result must carry the relay's chain, not the stale one");
    const signs = frames(from).filter((m) => m.type === "sign");
    assert.equal(signs.length, 1, "one digest, the one prepared with the relay's chain");
    const rep = await checkSigned(veilsign, relay, res.bytes, 3);
    assert.deepEqual(rep.signatures.map((s) => s.method), ["pen", "pen", "pen"]);
    results.push(Buffer.from(res.bytes));
  });

  test("no frame carries the document", () => {
    assert.equal(results.length, 3, "the signing tests must have run");
    assertNoDocumentBytes(assert, rec.frames, [original, results[2]]);
  });

  const pdfsig = spawnSync("pdfsig", ["-v"]).error === undefined;
  test("poppler's pdfsig finds three valid signatures", { skip: !pdfsig && "pdfsig (poppler-utils) is not installed: interop check SKIPPED" }, () => {
    assert.equal(results.length, 3, "the signing tests must have run");
    const dir = mkdtempSync(join(tmpdir(), "veilsign-pdfsig-"));
    try {
      writeFileSync(join(dir, "signed.pdf"), results[2]);
      const out = spawnSync("pdfsig", [join(dir, "signed.pdf")], { encoding: "utf8" }).stdout;
      assert.equal(out.match(/Signature Validation: Signature is Valid/g)?.length, 3, out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a chain that is not DER certificates is refused before any work", async () => {
    await veilsign.open(original);
    await assert.rejects(veilsign.sign(pen("A", "Ann Pen", { token: "t", chain: [] })), { code: "bad-argument" });
    await assert.rejects(veilsign.sign(pen("A", "Ann Pen", { token: "t", chain: ["MIIB"] })), { code: "bad-argument" });
  });
});
