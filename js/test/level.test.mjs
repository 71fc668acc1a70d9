// sign({ level }) beyond B-T against a real relay (relay serve --demo): B-LTA asks the
// relay for the validation data of the document's chains (a DSS update) and then for a
// document time-stamp, and verify must report B-LTA with the revocation status.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import * as veilsign from "../dist/veilsign.js";
import { demoToken, devRoots, pdf, startRelay } from "./helpers.mjs";

let relay;

before(async () => {
  relay = await startRelay();
  await veilsign.initialize({ WebSocket });
});
after(async () => {
  veilsign.terminate();
  await relay?.stop();
});


const plan = {
  signers: [{ label: "A", name: "Bob Pen", method: "pen", field: { page: 1, rect: { llx: 40, lly: 60, urx: 220, ury: 120 } } }],
};

describe("sign({ level })", { timeout: 180_000 }, () => {
  test("B-LTA: validation data and a document time-stamp from the relay", async () => {
    const original = pdf("libreoffice-7.4-writer-xref-table.pdf");
    await veilsign.open(original);
    const steps = [];
    const res = await veilsign.sign({
      relay: relay.base,
      token: await demoToken(relay.base, "bob.pen"),
      signer: { name: "Bob Pen" },
      method: "pen",
      label: "A",
      plan,
      level: "B-LTA",
      ink: [[[0.1, 0.5], [0.5, 0.8], [0.9, 0.4]]],
      onStatus: (s) => steps.push(s.step),
    });
    assert.equal(res.level, "B-LTA");
    assert.ok(steps.includes("extending"), steps.join(" → "));
    assert.equal(steps.at(-1), "done");
    assert.ok(Buffer.from(res.bytes.subarray(0, original.length)).equals(original), "the original bytes changed");
    const rep = await veilsign.verify(res.bytes, { roots: devRoots(relay) });
    // The signature, then the document time-stamp (reported as a signature of its own).
    assert.deepEqual(rep.signatures.map((x) => x.method), ["pen", "timestamp"], rep.summary);
    const s = rep.signatures[0];
    assert.equal(s.integrity, "valid", JSON.stringify(s));
    assert.equal(s.level, "B-LTA", JSON.stringify(s));
    assert.equal(s.revocation?.status, "good", JSON.stringify(s.revocation));
    assert.ok(s.changesAfter.every((c) => c.allowed), JSON.stringify(s.changesAfter));
    assert.equal(rep.valid, true, rep.summary);
  });

  test("an unknown level is refused before anything is sent", async () => {
    await veilsign.open(pdf("libreoffice-7.4-writer-xref-table.pdf"));
    await assert.rejects(
      veilsign.sign({ relay: relay.base, token: "t", signer: { name: "Bob Pen" }, method: "pen", label: "A", plan, level: "B-XL" }),
      (err) => err.code === "bad-argument",
    );
    await veilsign.close();
  });
});
