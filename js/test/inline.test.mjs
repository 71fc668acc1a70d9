// The core on the calling thread (initialize({ worker: false }), as in an MV3 service
// worker), in a context without WebCrypto's subtle (as on a plain-HTTP origin): Go hashes,
// reports its progress, and the signature still verifies. Then the core's class given
// (initialize({ worker: false, core })), which needs no import().

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as veilsign from "../dist/veilsign.js";
import { Core } from "../dist/veilsign-worker.js";
import { demoToken, pdf, recordingWebSocket, startRelay } from "./helpers.mjs";

let relay;
before(async () => {
  relay = await startRelay();
  await veilsign.initialize({ worker: false, WebSocket: recordingWebSocket().WebSocket });
});
after(async () => {
  veilsign.terminate();
  await relay?.stop();
});

test("open, preflight and verify on this thread", async () => {
  const info = await veilsign.open(pdf("handmade-empty-sigfields.pdf"));
  assert.equal(info.fields.length, 2);
  const plan = { signers: [{ label: "A", name: "Ann", method: "pen", field: { name: "Signature1" } }] };
  assert.equal((await veilsign.preflight(plan, "A")).kind, "first-in-document");
  await assert.rejects(veilsign.open(pdf("fail-not-pdf.pdf")), { code: "not-pdf" });
  const rep = await veilsign.verify(pdf("signed-pdfsig-existing-field.pdf"));
  assert.equal(rep.signatures.length, 1);
});

test("without crypto.subtle Go hashes, with progress", { timeout: 120_000 }, async () => {
  const bytes = pdf("enscript-ghostscript-100-pages.pdf");
  await veilsign.open(bytes);
  // Hide SubtleCrypto the way an insecure context does (crypto.getRandomValues stays: Go needs it).
  Object.defineProperty(globalThis.crypto, "subtle", { value: undefined, configurable: true });
  try {
    const plan = { signers: [{ label: "A", name: "Ann Pen", method: "pen", field: { page: 1, rect: { llx: 300, lly: 40, urx: 520, ury: 110 } } }] };
    const steps = [];
    const res = await veilsign.sign({
      relay: relay.base,
      token: await demoToken(relay.base, "ann.pen"),
      signer: { name: "Ann Pen" },
      method: "pen",
      label: "A",
      plan,
      ink: [[[0, 0.5], [1, 0.5]]],
      onStatus: (s) => steps.push(s),
    });
    assert.equal(res.hashedWith, "go");
    const hashing = steps.filter((s) => s.step === "hashing");
    assert.ok(hashing.length > 0, "no progress while hashing");
    assert.equal(hashing.at(-1).bytesHashed, hashing.at(-1).totalBytes);
    assert.equal(res.layout.kind, "first-in-document");
    const rep = await veilsign.verify(res.bytes);
    assert.equal(rep.valid, true, rep.summary);
    assert.equal(rep.signatures[0].integrity, "valid");
  } finally {
    delete globalThis.crypto.subtle;
  }
});

test("initialize({ worker: false, core }) runs the class given, importing nothing (as an MV3 service worker must)", async () => {
  veilsign.terminate();
  let made = 0;
  class Counted extends Core {
    constructor() {
      super();
      made++;
    }
  }
  // A worker module that does not exist: import() of it would fail.
  await veilsign.initialize({ worker: false, core: Counted, workerURL: new URL("./no-such-worker.js", import.meta.url) });
  assert.equal(made, 1);
  const rep = await veilsign.verify(pdf("signed-pdfsig-existing-field.pdf"));
  assert.equal(rep.signatures.length, 1);
});
