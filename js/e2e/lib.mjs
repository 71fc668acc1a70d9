// Shared by the browser tests: the relay (relay serve --demo, built from this checkout
// with the demo embedded), Debian's Chromium driven by playwright-core (no browser is ever
// downloaded), and the privacy recorder.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { peakLowerBoundKB, privateKB, resetPeak, status, watchPrivate } from "../../tools/procmem.mjs";
import { jsDir, repoDir, startRelay } from "../test/helpers.mjs";

export { jsDir, repoDir };

export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const outDir = process.env.E2E_OUT ?? join(jsDir, "e2e", "output");

/** Builds the demo into relay/internal/demo/site (needs dist/ from npm run build), then starts the relay. */
export async function startDemoRelay() {
  if (!existsSync(join(jsDir, "dist", "veilsign.wasm"))) throw new Error("js/dist is not built: run `npm run build` first");
  execFileSync(process.execPath, [join(jsDir, "demo", "build.mjs")], { stdio: "inherit" });
  mkdirSync(outDir, { recursive: true });
  return startRelay({ timeoutMs: 180_000 });
}

/** Chromium and one context; viewport and the other context options may be given (a phone's, say). */
export async function launch(options = {}) {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (never downloaded)`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1500, height: 1000 }, ...options });
  return { browser, context };
}

/** Everything one spec file needs: the demo relay, Chromium, the demo page and a recorder on it. */
export async function startDemo(log, contextOptions) {
  const relay = await startDemoRelay();
  const { browser, context } = await launch(contextOptions);
  const page = await openDemo(context, relay.base, log);
  return { relay, browser, context, page, rec: recorder(context, page) };
}

/** Prints the end of the page's log, closes Chromium and stops the relay. */
export async function stopDemo({ relay, browser }, log) {
  if (log.length) console.log(log.slice(-40).join("\n"));
  await browser?.close();
  await relay?.stop();
}

/** Opens the demo and waits until the WASM core is ready. */
export async function openDemo(context, base, log = []) {
  const page = await context.newPage();
  page.on("console", (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(base + "/");
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  return page;
}

/**
 * Records what the page (its frames, workers and service worker) sends while `on`: every
 * websocket frame and every HTTP request body, with the URL.
 */
export function recorder(context, page) {
  const sent = [];
  const received = [];
  const rec = { on: false, sent, received };
  const bytes = (f) => (Buffer.isBuffer(f.payload) ? f.payload : Buffer.from(f.payload, "utf8"));
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => {
      if (rec.on) sent.push({ kind: "ws", url: ws.url(), data: bytes(f) });
    });
    // What the relay sent the page (certificates, timestamp tokens…) is the relay's own.
    ws.on("framereceived", (f) => {
      if (rec.on) received.push({ kind: "ws", url: ws.url(), data: bytes(f) });
    });
  });
  context.on("request", (req) => {
    if (!rec.on) return;
    const body = req.postDataBuffer();
    sent.push({ kind: "http", url: `${req.method()} ${req.url()}`, data: body ?? Buffer.alloc(0) });
  });
  return rec;
}

/** Drags a rectangle on the overlay of page n from (x0, y0) to (x1, y1), in fractions of the page. */
export async function dragField(page, n, [x0, y0, x1, y1]) {
  const overlay = page.locator(`[data-testid=page-${n}] .overlay`);
  await overlay.scrollIntoViewIfNeeded();
  const box = await overlay.boundingBox();
  await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) {
    await page.mouse.move(box.x + (x0 + ((x1 - x0) * i) / 5) * box.width, box.y + (y0 + ((y1 - y0) * i) / 5) * box.height);
  }
  await page.mouse.up();
}

/** Waits until signer label's row says "Signed"; on a timeout, the error carries the page's status line. */
export async function waitSigned(page, label, timeout = 120_000) {
  await page.locator(`[data-testid=state-${label}]`).filter({ hasText: "Signed" }).waitFor({ timeout }).catch(async (err) => {
    throw new Error(`${label} did not sign: status "${await page.locator("[data-testid=status]").textContent()}"\n${err.message}`);
  });
}

/** Plays the signer on the itsme phone page: consent if asked, PIN 12345, Approve; until label has signed. */
export async function approveOnPhone(page, label) {
  const phone = page.frameLocator("[data-testid=itsme-phone]");
  const done = page.locator(`[data-testid=state-${label}]`).filter({ hasText: "Signed" });
  let approvals = 0;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !(await done.count())) {
    const approve = phone.locator("button", { hasText: "Approve" });
    if (await approve.count()) {
      const consent = phone.locator("input[name=consent]");
      if (await consent.count()) await consent.check();
      await phone.locator("input[name=pin]").fill("12345");
      await approve.click();
      approvals++;
      await page.waitForTimeout(300);
    } else {
      await page.waitForTimeout(200);
    }
  }
  return approvals;
}

/** Draws a signature with the mouse on the pen canvas. */
export async function drawSignature(page) {
  const canvas = page.locator("[data-testid=pen-canvas]");
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const at = (u, v) => [box.x + u * box.width, box.y + v * box.height];
  const strokes = [
    [[0.1, 0.7], [0.2, 0.3], [0.3, 0.75], [0.4, 0.35], [0.5, 0.7]],
    [[0.55, 0.6], [0.65, 0.4], [0.75, 0.6], [0.9, 0.45]],
  ];
  for (const s of strokes) {
    await page.mouse.move(...at(...s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(...p), { steps: 4 });
    await page.mouse.up();
  }
}

/** Every string of 16+ base64/base64url/hex characters in a body, decoded both ways where it can be. */
function decodedViews(data) {
  const out = [data];
  const text = data.toString("latin1");
  for (const m of text.matchAll(/[A-Za-z0-9+/_%-]{16,}={0,2}/g)) {
    let s = m[0];
    if (s.includes("%")) {
      try {
        s = decodeURIComponent(s);
      } catch {
        // not URL-encoded after all
      }
    }
    out.push(Buffer.from(s, "base64"));
    if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) out.push(Buffer.from(s, "hex"));
  }
  return out;
}

/**
 * Throws (loudly, with the offending request) when a 32-byte window of any document
 * appears in anything sent, raw, base64 or hex. Windows found in `known` (what the relay
 * itself sent the page: the certificates and time-stamp tokens a signed document embeds, and
 * a B-LT/B-LTA validation-data request sends back) are not the document's.
 */
export function assertNoDocumentBytes(sent, documents, known = []) {
  // Index every 32-byte window of the documents once; then each sent byte position is one lookup.
  const windows = new Set();
  for (const doc of documents) for (let at = 0; at + 32 <= doc.length; at++) windows.add(doc.toString("latin1", at, at + 32));
  for (const k of known) for (const v of decodedViews(k.data)) for (let at = 0; at + 32 <= v.length; at++) windows.delete(v.toString("latin1", at, at + 32));
  for (const [i, s] of sent.entries()) {
    for (const v of decodedViews(s.data)) {
      for (let at = 0; at + 32 <= v.length; at++) {
        if (windows.has(v.toString("latin1", at, at + 32))) {
          throw new Error(
            `PRIVACY LEAK: ${s.kind} message ${i} to ${s.url} carries 32 bytes of the document (at ${at} of a ${v.length}-byte view): ${s.data.toString("utf8").slice(0, 120)}…`,
          );
        }
      }
    }
  }
}

/** Throws when any message sent is 2 KB or more. */
export function assertSmall(sent, limit = 2048) {
  for (const s of sent) {
    if (s.data.length >= limit) throw new Error(`PRIVACY/SIZE: a ${s.kind} message of ${s.data.length} bytes to ${s.url} (limit ${limit})`);
  }
}

/**
 * The relay's own verifier on a downloaded file (`relay verify --json --trust dev`, with the
 * dev PKI of the relay that signed it): an outside process, not the page's WASM. Returns the
 * report; fails the test when the command does not succeed.
 */
export function relayVerify(assert, file, relay) {
  const v = spawnSync(process.env.GO ?? "go", ["run", "./relay", "verify", "--json", "--trust", "dev", file], {
    cwd: repoDir,
    encoding: "utf8",
    env: { ...process.env, VEILSIGN_DEV_DIR: relay.devDir },
  });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  return JSON.parse(v.stdout);
}

/**
 * Watches the private memory of every renderer process of browser from now on (workers run
 * in their page's renderer). stop() gives the largest growth of one renderer, in MB above
 * what it had at the start: the larger of what a sampler saw about every 2 ms and of the
 * kernel's bound on the peak (reset at the start), as the bench measures, so a missed
 * sample can only make the figure worse, never better.
 */
export async function watchRendererMemory(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
  await cdp.detach();
  const base = new Map();
  for (const { id, type } of processInfo) {
    if (type !== "renderer") continue;
    try {
      resetPeak(id);
      base.set(id, privateKB(status(id)));
    } catch {
      // gone since the list was taken (a spare renderer)
    }
  }
  const watch = watchPrivate([...base.keys()], 2);
  return {
    async stop() {
      const seen = await watch.stop();
      let growth = 0;
      for (const [pid, start] of base) {
        let bound = 0;
        try {
          bound = peakLowerBoundKB(status(pid));
        } catch {
          // gone: its samples alone
        }
        growth = Math.max(growth, Math.max(seen.get(pid).peakKB, bound) - start);
      }
      return growth / 1024;
    },
  };
}
