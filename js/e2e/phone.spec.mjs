// The demo on a phone-sized screen (390×844, touch, device scale 2), in a real Chromium: a
// signer must be able to open a PDF, place fields, approve in the itsme simulator, draw a
// pen signature and type the PIN of the demo eID card (a SoftHSM2 token the relay makes),
// with nothing wider than the screen. The result passes pdfsig. Screenshots of every step
// go to e2e/output/phone-*.png for a person to look at.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { approveOnPhone, dragField, drawSignature, outDir, repoDir, startDemo, stopDemo, waitSigned } from "./lib.mjs";

const INPUT = "libreoffice-7.4-writer-xref-table.pdf";
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
let relay, browser, page;
const log = [];

before(async () => ({ relay, browser, page } = await startDemo(log, PHONE)));
after(() => stopDemo({ relay, browser }, log));

const shot = (name) => page.screenshot({ path: join(outDir, `phone-${name}.png`), fullPage: true });

/** Fails when anything in the page is wider than the screen (a sideways scroll on a phone). */
async function assertFitsWidth(step) {
  const over = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && (r.right > w + 1 || r.left < -1);
    });
    return { w, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`) };
  });
  assert.ok(over.scroll <= over.w && over.wide.length === 0, `${step}: wider than the ${over.w} px screen: ${JSON.stringify(over)}`);
}

describe("the demo on a phone", { timeout: Number(process.env.E2E_TIMEOUT ?? 300_000) }, () => {
  test("open a PDF and place two fields", async () => {
    await assertFitsWidth("start");
    await shot("1-start");
    await page.locator("[data-testid=file]").setInputFiles(join(repoDir, "testdata", "pdf", INPUT));
    await page.locator("[data-testid=status]").filter({ hasText: /^(Opened|Cannot)/ }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator("[data-testid=status]").textContent(), /^Opened/);
    await assertFitsWidth("opened");
    for (const [label, r] of Object.entries({ A: [0.08, 0.72, 0.45, 0.8], B: [0.55, 0.72, 0.92, 0.8] })) {
      await page.locator(`[data-testid=place-${label}]`).click();
      await dragField(page, 1, r);
      await page.locator(`[data-testid=field-${label}]`).waitFor();
    }
    await page.check("[data-testid=read]");
    // C signs with the demo eID card; its signature goes to its slot on the signature page.
    await page.selectOption("[data-testid=method-C]", "eid");
    await assertFitsWidth("fields placed");
    await shot("2-fields");
  });

  test("A approves in the itsme simulator's phone", async () => {
    await page.locator("[data-testid=sign-A]").click();
    await page.locator("[data-testid=itsme-phone]").waitFor({ state: "visible", timeout: 60_000 });
    await assertFitsWidth("itsme");
    await shot("3-itsme");
    assert.ok((await approveOnPhone(page, "A")) >= 1, "the phone page was never used");
    await waitSigned(page, "A");
  });

  test("B draws a signature on the touch screen", async () => {
    await drawSignature(page);
    await page.locator("[data-testid=sign-B]").click();
    await waitSigned(page, "B");
    assert.equal(await page.locator("[data-testid=signature]").count(), 2);
  });

  test("C signs with the demo eID card, typing its PIN as on a card reader; pdfsig agrees", async () => {
    const eid = await (await fetch(relay.base + "/demo/eid")).json();
    if (!eid.available) {
      assert.ok(!process.env.CI, `CI must have SoftHSM2 for the demo eID card: ${eid.reason}`);
      return console.log(`SKIPPED: no demo eID card: ${eid.reason}`);
    }
    await page.locator("[data-testid=sign-C]").click();
    await page.locator("[data-testid=otp-code]").waitFor({ state: "visible", timeout: 60_000 });
    assert.match(await page.locator("#otp-label").textContent(), /PIN/);
    await assertFitsWidth("card PIN");
    await shot("4-card-pin");
    await page.fill("[data-testid=otp-code]", eid.pin);
    await page.click("[data-testid=otp-ok]");
    await waitSigned(page, "C");
    assert.equal(await page.locator("[data-testid=summary]").textContent(), "Signed and all signatures are valid.");
    const sigs = await page.locator("[data-testid=signature]").allTextContents();
    assert.equal(sigs.length, 3, sigs.join("\n"));
    const c = sigs.find((t) => t.includes("(C)")).replace(/\s/g, "");
    assert.match(c, /Methodeid/);
    assert.match(c, new RegExp(`${eid.holder.replace(/\s/g, "")}\\(C\\)`));
    assert.match(c, /Nationalnumber\d{11}/);
    assert.match(c, /Qualifiedyes/);
    await assertFitsWidth("signed");
    await shot("5-signed");

    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download]")]);
    const file = join(outDir, "phone-signed.pdf");
    await dl.saveAs(file);
    const sig = spawnSync("pdfsig", [file], { encoding: "utf8" });
    assert.ok(!sig.error, "pdfsig (poppler-utils) is required");
    const blocks = sig.stdout.split(/^Signature #\d+:/m).slice(1);
    assert.equal(blocks.length, 3, sig.stdout + sig.stderr);
    for (const b of blocks) assert.match(b, /Signature Validation: Signature is Valid/, sig.stdout);
  });
});
