// InitializeOptions.lowMemoryAbove: the document hashed while no core is loaded (the core's
// worker ends after preparing, a new one hashes and starts the core again), against a real
// relay. The signatures must be the same as on the usual path, B-LTA's extension must work
// on the restarted core, and a core that cannot be started again must fail before anything
// is sent for signing.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import * as veilsign from "../dist/veilsign.js";
import { box, checkSigned, demoToken, devRoots, jsDir, pdf, recordingWebSocket, startRelay } from "./helpers.mjs";

let relay;
const rec = recordingWebSocket();
const dir = mkdtempSync(join(tmpdir(), "veilsign-lowmem-"));
// A copy of the module that a test can take away.
const wasm = join(dir, "veilsign.wasm");
copyFileSync(join(jsDir, "dist", "veilsign.wasm"), wasm);
const init = () => veilsign.initialize({ WebSocket: rec.WebSocket, wasmURL: pathToFileURL(wasm), lowMemoryAbove: 0 });

before(async () => {
  relay = await startRelay();
  await init();
});
after(async () => {
  veilsign.terminate();
  await relay?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const plan = {
  signers: [
    { label: "A", name: "Ann Pen", method: "pen", field: { page: 1, rect: box(40, 60) } },
    { label: "B", name: "Bob Pen", method: "pen", field: { page: 1, rect: box(240, 60) } },
  ],
};
const ink = [[[0.1, 0.5], [0.5, 0.8], [0.9, 0.4]]];

async function signPen(label, name, extra = {}) {
  const steps = [];
  const res = await veilsign.sign({
    relay: relay.base,
    token: await demoToken(relay.base, name.toLowerCase().replace(" ", ".")),
    signer: { name },
    method: "pen",
    label,
    plan,
    ink,
    onStatus: (s) => steps.push(s.step),
    ...extra,
  });
  return { res, steps };
}

describe("hashing with no core loaded", { timeout: 180_000 }, () => {
  const original = pdf("libreoffice-7.4-writer-xref-table.pdf");

  test("a B-T signature, then a B-LTA one extended on the restarted core", async () => {
    await veilsign.open(original);
    const first = await signPen("A", "Ann Pen");
    assert.equal(first.res.lowMemory, true);
    assert.equal(first.res.hashedWith, "webcrypto");
    assert.ok(first.steps.indexOf("hashing") > first.steps.indexOf("preparing"), first.steps.join(" → "));
    assert.ok(Buffer.from(first.res.bytes.subarray(0, original.length)).equals(original), "the original bytes changed");
    await checkSigned(veilsign, relay, first.res.bytes, 1);

    await veilsign.open(first.res.bytes);
    const second = await signPen("B", "Bob Pen", { level: "B-LTA" });
    assert.equal(second.res.lowMemory, true);
    assert.equal(second.res.level, "B-LTA");
    assert.ok(Buffer.from(second.res.bytes.subarray(0, first.res.bytes.length)).equals(Buffer.from(first.res.bytes)), "the first signature's bytes changed");
    const rep = await veilsign.verify(second.res.bytes, { roots: devRoots(relay) });
    assert.deepEqual(rep.signatures.map((s) => s.method), ["pen", "pen", "timestamp"], rep.summary);
    assert.ok(rep.signatures.every((s) => s.integrity === "valid" && s.changesAfter.every((c) => c.allowed)), JSON.stringify(rep.signatures));
    assert.equal(rep.signatures[1].level, "B-LTA");
    assert.equal(rep.valid, true, rep.summary);
  });

  test("prepared ahead with a stale chain: prepared again, still with no core loaded", async () => {
    const rootDER = Buffer.from(devRoots(relay).replace(/-----[A-Z ]+-----/g, "").replace(/\s/g, ""), "base64");
    await veilsign.open(original);
    const { res, steps } = await signPen("A", "Ann Pen", { chain: [new Uint8Array(rootDER)] });
    assert.ok(steps.includes("prepared") && steps.includes("chain-changed"), steps.join(" → "));
    assert.equal(steps.filter((s) => s === "hashing").length, 2, steps.join(" → "));
    assert.equal(res.lowMemory, true);
    assert.equal(res.preparedAhead, false);
    await checkSigned(veilsign, relay, res.bytes, 1);
  });

  test("a standby worker is ready while such a document is open, and only then", async () => {
    // Worker threads of this process (the relay is a child process): the core's, the
    // standby's, and briefly a compile worker's.
    const workers = () => process.report.getReport().workers.length;
    const settles = async (want, what) => {
      const deadline = Date.now() + 10_000;
      while (workers() !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(workers(), want, what);
    };
    await veilsign.open(original);
    await settles(2, "the core and a standby after open()");
    const { res } = await signPen("A", "Ann Pen");
    assert.equal(res.lowMemory, true);
    // The standby became the core, the old core ended, and a new standby waits for the next signature.
    await settles(2, "a new core and a new standby after the signature");
    await veilsign.close();
    await settles(1, "the core alone once no document is open");
    await veilsign.open(res.bytes);
    await settles(2, "a standby again for the signed document");
    veilsign.terminate();
    await settles(0, "nothing left after terminate()");
    await init();
  });

  test("a core that cannot start again fails before anything is sent", async () => {
    await veilsign.open(original);
    const sent = rec.frames.length;
    renameSync(wasm, wasm + ".away");
    try {
      await assert.rejects(signPen("A", "Ann Pen"), (err) => {
        assert.ok(err instanceof veilsign.VeilsignError);
        assert.equal(err.code, "not-initialized", err.message);
        assert.match(err.message, /nothing was sent for signing/);
        return true;
      });
    } finally {
      renameSync(wasm + ".away", wasm);
    }
    const requests = rec.frames.slice(sent).map((f) => JSON.parse(f.toString("utf8")).type);
    assert.ok(!requests.includes("sign"), requests.join(", "));
    // The package starts afresh: initialize, open and sign work again.
    await assert.rejects(veilsign.open(original), (err) => err.code === "not-initialized");
    await init();
    await veilsign.open(original);
    const again = await signPen("A", "Ann Pen");
    assert.equal(again.res.lowMemory, true);
    await checkSigned(veilsign, relay, again.res.bytes, 1);
  });
});
