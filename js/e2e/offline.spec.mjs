// The demo offline, in a real Chromium: load it once online, so that its service worker
// caches the app, the package with its WASM core and pdf.js; then stop the relay and take
// the network away. The page must still reload, open a PDF, render it, let a field be
// placed and verify a signed PDF, all from the cache. Starting an itsme signature must say
// that it waits for the network, then for the relay, and sign exactly once when both are
// back: one digest asked for, one signature in the document. With the chain of an earlier
// pen signature remembered, a pen signature started offline is prepared and hashed at
// once, waits for the relay (the wait can be stopped), and is sent exactly once when it is back.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { approveOnPhone, dragField, drawSignature, outDir, relayVerify, repoDir, startDemo, stopDemo, waitSigned } from "./lib.mjs";

const SIGNED = "signed-pdfsig-2-signatures.pdf";
const INPUT = "libreoffice-7.4-writer-xref-table.pdf";
let relay, browser, context, page, rec;
const log = [];

before(async () => ({ relay, browser, context, page, rec } = await startDemo(log)));
after(() => stopDemo({ relay, browser }, log));

const statusLine = () => page.locator("[data-testid=status]");

async function waitStatus(re, timeout = 60_000) {
  await statusLine().filter({ hasText: re }).waitFor({ timeout }).catch(async (err) => {
    throw new Error(`status never matched ${re}: "${await statusLine().textContent()}"\n${err.message}`);
  });
}

async function openFile(name) {
  await page.locator("[data-testid=file]").setInputFiles(join(repoDir, "testdata", "pdf", name));
  await waitStatus(/^(Opened|Cannot)/);
  assert.match(await statusLine().textContent(), /^Opened/);
}

describe("the demo with the network off", { timeout: Number(process.env.E2E_TIMEOUT ?? 300_000) }, () => {
  test("the first visit installs the service worker and caches the app", async () => {
    const cached = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      // clients.claim() makes this very page controlled, without a reload.
      for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 50));
      const keys = await caches.keys();
      const cache = await caches.open(keys.find((k) => k.startsWith("veilsign-demo-")));
      return { active: !!reg.active, controlled: !!navigator.serviceWorker.controller, urls: (await cache.keys()).map((r) => new URL(r.url).pathname) };
    });
    assert.ok(cached.active && cached.controlled, JSON.stringify(cached));
    for (const f of ["/", "/static/demo.js", "/static/veilsign.js", "/static/veilsign-worker.js", "/static/veilsign.wasm", "/static/pdf.min.mjs", "/static/pdf.worker.min.mjs", "/demo/roots.pem"]) {
      assert.ok(cached.urls.includes(f), `${f} is not cached: ${cached.urls}`);
    }
  });

  test("relay stopped and network off: reload, open, render, place a field, verify", async () => {
    await relay.kill();
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    assert.match(await page.locator("[data-testid=network]").textContent(), /offline/);

    // A PDF signed elsewhere: the verification panel, from the cached WASM and dev roots.
    await openFile(SIGNED);
    await page.locator("[data-testid=report]").waitFor({ state: "visible" });
    const sigs = await page.locator("[data-testid=signature]").allTextContents();
    assert.equal(sigs.length, 2, sigs.join("\n"));
    assert.ok(sigs.every((t) => /Integrityvalid/.test(t.replace(/\s/g, ""))), sigs.join("\n"));
    await page.click("[data-testid=verify]");
    await waitStatus(/^Signed/);

    // An unsigned one: rendered by the cached pdf.js, a field placed, the plan checked.
    await openFile(INPUT);
    assert.ok(await page.locator("[data-testid=page-1] canvas").count(), "page 1 not rendered");
    await page.click("[data-testid=place-A]");
    await dragField(page, 1, [0.08, 0.72, 0.4, 0.8]);
    await page.locator("[data-testid=field-A]").waitFor();
    await page.check("[data-testid=read]");
    await page.screenshot({ path: join(outDir, "offline-ready.png"), fullPage: true });
  });

  test("signing says it waits for the network, then the relay, and signs once when both return", async () => {
    rec.on = true;
    await page.click("[data-testid=sign-A]");
    await waitStatus(/Waiting for the network/);
    await page.locator("[data-testid=cancel-wait]").waitFor({ state: "visible" });
    assert.equal(await page.locator("[data-testid=sign-A]").isDisabled(), true, "a second click could start a second signature");
    await page.screenshot({ path: join(outDir, "offline-waiting.png"), fullPage: true });

    // The network is back but the relay is still down.
    await context.setOffline(false);
    await waitStatus(/Waiting for the relay/);

    await relay.restart();
    const approvals = await approveOnPhone(page, "A");
    await waitSigned(page, "A");
    rec.on = false;
    assert.equal(approvals, 2, "itsme asks twice: consent to the certificate, then approval of the signature");
    assert.equal(await page.locator("[data-testid=cancel-wait]").isHidden(), true);

    const digests = new Set(rec.sent.filter((s) => s.kind === "ws").map((s) => JSON.parse(s.data.toString("utf8"))).filter((m) => m.type === "sign").map((m) => m.digest));
    assert.equal(digests.size, 1, `digests sent to sign: ${[...digests]}`);
    const sigs = await page.locator("[data-testid=signature]").allTextContents();
    assert.equal(sigs.length, 1, sigs.join("\n"));
    assert.equal(await page.locator("[data-testid=summary]").textContent(), "Signed and all signatures are valid.");
  });

  test("stopping the wait leaves the document ready and sends nothing", async () => {
    // A's itsme chain is remembered since the test above: forget it, so that this is the
    // wait without one (nothing prepared); the next test has the wait with one.
    await page.evaluate(() => localStorage.clear());
    await openFile(INPUT);
    await page.click("[data-testid=place-A]");
    await dragField(page, 1, [0.08, 0.72, 0.4, 0.8]);
    await page.locator("[data-testid=field-A]").waitFor();
    await relay.kill();
    rec.sent.length = 0;
    rec.on = true;
    await page.click("[data-testid=sign-A]");
    await waitStatus(/Waiting for the relay/);
    await page.click("[data-testid=cancel-wait]");
    await waitStatus(/Signing failed: you stopped waiting/);
    rec.on = false;
    assert.equal(rec.sent.filter((s) => s.kind === "ws").length, 0, "a websocket frame went out");
    assert.equal(await page.locator("[data-testid=sign-A]").isEnabled(), true);
    assert.equal(await page.locator("[data-testid=field-A]").count(), 1, "the placed field was lost");
  });

  test("with a remembered seal chain, a pen signature is prepared offline and signed once when the relay returns", async () => {
    // Online: B signs with the pen, and the demo remembers the service's seal chain.
    await relay.restart();
    await openFile(INPUT);
    await page.selectOption("[data-testid=method-C]", "pen");
    for (const [label, r] of Object.entries({ B: [0.55, 0.72, 0.9, 0.8], C: [0.08, 0.84, 0.4, 0.92] })) {
      await page.click(`[data-testid=place-${label}]`);
      await dragField(page, 1, r);
      await page.locator(`[data-testid=field-${label}]`).waitFor();
    }
    await drawSignature(page);
    await page.click("[data-testid=sign-B]");
    await waitSigned(page, "B");
    const remembered = await page.evaluate(() => localStorage.getItem("veilsign-demo-chain:pen"));
    assert.ok(remembered && JSON.parse(remembered).length >= 2, `seal chain remembered: ${remembered}`);

    // Relay stopped, network off: C's pen signature is prepared and hashed at once.
    await relay.kill();
    await context.setOffline(true);
    await drawSignature(page);
    rec.sent.length = 0;
    rec.on = true;
    await page.click("[data-testid=sign-C]");
    await waitStatus(/Prepared and hashed offline — waiting for the network to sign/);
    assert.equal(await page.locator("[data-testid=sign-C]").isDisabled(), true, "a second click could start a second signature");

    // Stop waiting: nothing was sent, and C can sign again.
    await page.click("[data-testid=cancel-wait]");
    await waitStatus(/Signing failed: you stopped waiting/);
    assert.equal(rec.sent.filter((s) => s.kind === "ws").length, 0, "a websocket frame went out");
    assert.equal(await page.locator("[data-testid=sign-C]").isEnabled(), true);

    await page.click("[data-testid=sign-C]");
    await waitStatus(/Prepared and hashed offline — waiting for the network to sign/);
    await page.locator("[data-testid=cancel-wait]").waitFor({ state: "visible" });
    await page.screenshot({ path: join(outDir, "offline-prepared.png"), fullPage: true });
    assert.equal(rec.sent.filter((s) => s.kind === "ws").length, 0, "a websocket frame went out while offline");

    // The relay returns on the same port and store, then the network.
    await relay.restart();
    await context.setOffline(false);
    await waitSigned(page, "C");
    rec.on = false;
    // Prepared once, offline: the relay's chain was the remembered one (no second preparation).
    await waitStatus(/signed \(pen, PAdES B-T, prepared offline\)\. Signed and all signatures are valid\./);
    assert.equal(await page.locator("[data-testid=cancel-wait]").isHidden(), true);
    const frames = rec.sent.filter((s) => s.kind === "ws").map((s) => JSON.parse(s.data.toString("utf8")));
    assert.equal(frames.filter((m) => m.type === "sign").length, 1, `frames sent: ${frames.map((m) => m.type)}`);
    assert.equal(frames.filter((m) => m.type === "identify").length, 1, `frames sent: ${frames.map((m) => m.type)}`);
    assert.equal(await page.locator("[data-testid=summary]").textContent(), "Signed and all signatures are valid.");
    assert.equal(await page.locator("[data-testid=signature]").count(), 2);

    // The downloaded PDF: pdfsig and veilsign's verifier find both signatures valid.
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download]")]);
    const file = join(outDir, "offline-signed.pdf");
    await dl.saveAs(file);
    const original = readFileSync(join(repoDir, "testdata", "pdf", INPUT));
    assert.ok(readFileSync(file).subarray(0, original.length).equals(original), "the original bytes changed");
    const sig = spawnSync("pdfsig", [file], { encoding: "utf8" });
    assert.ok(!sig.error, "pdfsig (poppler-utils) is required: apt-get install poppler-utils");
    assert.equal(sig.stdout.match(/Signature Validation: Signature is Valid/g)?.length, 2, sig.stdout + sig.stderr);
    const rep = relayVerify(assert, file, relay);
    assert.equal(rep.valid, true, rep.summary);
    assert.equal(rep.signatures.length, 2);
    assert.ok(rep.signatures.every((s) => s.method === "pen" && s.integrity === "valid" && s.certificateTrusted && s.timestamp.valid), JSON.stringify(rep.signatures));
  });
});
