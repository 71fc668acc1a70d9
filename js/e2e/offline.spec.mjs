// The demo offline, in a real Chromium: load it once online, so that its service worker
// caches the app, the package with its WASM core and pdf.js; then stop the relay and take
// the network away. The page must still reload, open a PDF, render it, let a field be
// placed and verify a signed PDF, all from the cache. Starting an itsme signature must say
// that it waits for the network, then for the relay, and sign exactly once when both are
// back: one digest asked for, one signature in the document.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { approveOnPhone, dragField, outDir, repoDir, startDemo, stopDemo, waitSigned } from "./lib.mjs";

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
});
