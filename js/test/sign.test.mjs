// The whole signing flow against a real relay (relay serve --demo, built from this
// checkout): itsme through the simulator (with a dropped socket while the signer
// approves), then pen, then TAN on the same document. Every result must verify, and every
// frame the client sent must be small and free of the document's bytes.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as veilsign from "../dist/veilsign.js";
import { approveItsme, assertNoDocumentBytes, box, checkSigned, demoToken, outboxCode, pdf, recordingWebSocket, startRelay } from "./helpers.mjs";

let relay;
const rec = recordingWebSocket();

before(async () => {
  relay = await startRelay();
  await veilsign.initialize({ WebSocket: rec.WebSocket });
});
after(async () => {
  veilsign.terminate();
  await relay?.stop();
});

const plan = {
  signers: [
    { label: "A", name: "Ada Lovelace", capacity: "Director", method: "itsme", field: { page: 1, rect: box(40, 60) } },
    { label: "B", name: "Bob Pen", method: "pen", field: { page: 1, rect: box(240, 60) } },
    { label: "C", name: "Chloé Tan", method: "tan", field: { page: 1, rect: box(40, 140) } },
  ],
};
const phone = "+32470123456";

describe("signing through the relay", { timeout: 180_000 }, () => {
  const original = pdf("libreoffice-7.4-writer-xref-table.pdf");
  const results = [];

  test("itsme, with the socket dropped while the signer approves", async () => {
    await veilsign.open(original);
    assert.equal((await veilsign.preflight(plan, "A")).kind, "signature-page");
    const token = await demoToken(relay.base, "ada.lovelace");
    const steps = [];
    const opened = [];
    const approvals = [];
    let state = "";
    const res = await veilsign.sign({
      relay: relay.base.replace("http:", "ws:"),
      token,
      signer: { name: "Ada Lovelace", capacity: "Director", email: "ada@example.org" },
      method: "itsme",
      label: "A",
      plan,
      documentLabel: "Contract 2026-114",
      onStatus: (s) => {
        steps.push(s.step);
        if (s.state) state = s.state;
      },
      openURL: (url) => {
        opened.push([state, url]);
        approvals.push(
          (async () => {
            if (state === "awaiting-approval") {
              // A network failure while the signer is in the app: the client must resume
              // the session and re-send the same digest, and the signer approves once.
              rec.sockets.at(-1).terminate();
              await new Promise((r) => setTimeout(r, 300));
            }
            await approveItsme(relay.base, url);
          })(),
        );
      },
    });
    await Promise.all(approvals);
    // itsme asks for consent during identify too, so "waiting" may come in between.
    const order = ["connecting", "identifying", "preparing", "embedding", "done"].map((s) => steps.indexOf(s));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])), steps.join(" → "));
    assert.ok(steps.lastIndexOf("waiting") > order[2], steps.join(" → "));
    assert.equal(steps.at(-1), "done");
    assert.ok(opened.some(([s]) => s === "awaiting-approval"), JSON.stringify(opened));
    assert.equal(new Set(opened.map(([, u]) => u)).size, opened.length, "a URL was opened twice");
    const hellos = rec.frames.map((f) => JSON.parse(f)).filter((m) => m.type === "hello");
    assert.ok(hellos.some((m) => m.resume), "no hello resumed the session");
    const signs = rec.frames.map((f) => JSON.parse(f)).filter((m) => m.type === "sign");
    assert.ok(signs.length >= 2 && signs.every((m) => m.digest === signs[0].digest), "the re-sent request must carry the same digest");
    assert.equal(res.layout.kind, "signature-page");
    assert.equal(res.level, "B-T");
    assert.equal(res.hashedWith, "webcrypto");
    assert.ok(Buffer.from(res.bytes.subarray(0, original.length)).equals(original), "the original bytes changed");
    const rep = await checkSigned(veilsign, relay, res.bytes, 1);
    assert.equal(rep.signatures[0].reference, "A");
    assert.equal(rep.signatures[0].method, "itsme");
    results.push(Buffer.from(res.bytes));
  });

  test("pen fills its slot", async () => {
    assert.ok(results[0], "needs the itsme result");
    await veilsign.open(results[0]);
    assert.equal((await veilsign.preflight(plan, "B")).kind, "slot");
    const res = await veilsign.sign({
      relay: relay.base,
      token: await demoToken(relay.base, "bob.pen"),
      signer: { name: "Bob Pen" },
      method: "pen",
      label: "B",
      plan,
      ink: [[[0.1, 0.2], [0.4, 0.8], [0.7, 0.3], [0.9, 0.6]]],
      evidence: "Drawn on a touchscreen",
    });
    assert.equal(res.layout.kind, "slot");
    assert.ok(Buffer.from(res.bytes.subarray(0, results[0].length)).equals(results[0]));
    await checkSigned(veilsign, relay, res.bytes, 2);
    results.push(Buffer.from(res.bytes));
  });

  test("TAN with the code from the SMS outbox", async () => {
    assert.ok(results[1], "needs the pen result");
    await veilsign.open(results[1]);
    const statuses = [];
    const res = await veilsign.sign({
      relay: relay.base + "/v1/sign",
      token: await demoToken(relay.base, "chloe.tan"),
      signer: { name: "Chloé Tan", phone },
      method: "tan",
      label: "C",
      plan,
      evidence: "SMS to +32 470 •• •• 56",
      otp: () => outboxCode(relay.base, phone),
      onStatus: (s) => statuses.push(s.state),
    });
    assert.ok(statuses.includes("otp-sent"));
    assert.equal(res.layout.kind, "slot");
    const rep = await checkSigned(veilsign, relay, res.bytes, 3);
    assert.deepEqual(rep.signatures.map((s) => s.reference).sort(), ["A", "B", "C"]);
    results.push(Buffer.from(res.bytes));
  });

  test("no frame carries the document, and each is small", () => {
    assert.equal(results.length, 3, "the signing tests must have run");
    assert.ok(rec.frames.length >= 12, `only ${rec.frames.length} frames recorded`);
    const types = new Set();
    for (const f of rec.frames) {
      const m = JSON.parse(f.toString("utf8"));
      types.add(m.type);
      assert.ok(["hello", "identify", "sign", "otp", "ack"].includes(m.type), m.type);
      if (m.type === "sign") {
        assert.ok(f.length < 2048, `a sign frame of ${f.length} bytes`);
        assert.deepEqual(Object.keys(m).sort(), ["digest", "hashAlgorithm", "label", "type"]);
      }
      assert.ok(f.length < 4096, `a ${m.type} frame of ${f.length} bytes`);
    }
    assert.deepEqual([...types].sort(), ["ack", "hello", "identify", "otp", "sign"]);
    // results[2] begins with every earlier version of the document.
    assertNoDocumentBytes(assert, rec.frames, [original, results[2]]);
  });

  test("the privacy check itself catches a leak", () => {
    const chunk = original.subarray(100, 140);
    const raw = Buffer.concat([Buffer.from('{"type":"sign","label":"'), chunk, Buffer.from('"}')]);
    const b64 = Buffer.from(JSON.stringify({ type: "sign", digest: chunk.toString("base64") }));
    assert.throws(() => assertNoDocumentBytes(assert, [raw], [original]));
    assert.throws(() => assertNoDocumentBytes(assert, [b64], [original]));
  });

  const pdfsig = spawnSync("pdfsig", ["-v"]).error === undefined;
  test("poppler's pdfsig finds three valid signatures", { skip: !pdfsig && "pdfsig (poppler-utils) is not installed: interop check SKIPPED" }, () => {
    assert.equal(results.length, 3, "the signing tests must have run");
    const dir = mkdtempSync(join(tmpdir(), "veilsign-pdfsig-"));
    try {
      writeFileSync(join(dir, "signed.pdf"), results[2]);
      const out = spawnSync("pdfsig", [join(dir, "signed.pdf")], { encoding: "utf8" }).stdout;
      assert.equal(out.match(/Signature Validation: Signature is Valid/g)?.length, 3, out);
      assert.equal(out.match(/Total document signed/g)?.length, 1, out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a refused token is the relay's error code, and the document stays open", async () => {
    await veilsign.open(original);
    const err = await veilsign
      .sign({ relay: relay.base, token: "not-a-token", signer: { name: "Eve" }, method: "pen", label: "A", plan })
      .then(() => assert.fail("signed with a bad token"), (e) => e);
    assert.ok(err instanceof veilsign.VeilsignError);
    assert.equal(err.code, "unauthorized");
    assert.equal(err.retryable, false);
    assert.equal((await veilsign.preflight(plan, "A")).kind, "signature-page");
  });

  test("a cancelled signature rejects with aborted", async () => {
    await veilsign.open(original);
    const ctl = new AbortController();
    const p = veilsign.sign({
      relay: relay.base,
      token: await demoToken(relay.base, "ada.lovelace"),
      signer: { name: "Ada Lovelace" },
      method: "itsme",
      label: "A",
      plan,
      signal: ctl.signal,
      openURL: () => ctl.abort(), // the signer closes the itsme page instead of approving
    });
    await assert.rejects(p, { code: "aborted" });
  });
});
