// Shared by the node tests: paths, a real relay (relay serve --demo) in a child process,
// the demo "phone" that approves itsme requests and reads TAN codes, and a WebSocket that
// records every frame the client sends.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

export const jsDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoDir = dirname(jsDir);
export const pdfDir = join(repoDir, "testdata", "pdf");

export function pdf(name) {
  return readFileSync(join(pdfDir, name));
}

/**
 * Builds the relay binary once into a temp dir and starts `relay serve --demo` on a free port
 * (env: more variables for it, such as VEILSIGN_ORIGINS).
 * stop() ends it and removes the dir; kill() only ends it, and restart() starts it again on
 * the same address with the same store and dev PKI (a relay outage and its return).
 */
export async function startRelay({ timeoutMs = 60_000, env: extraEnv = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "veilsign-relay-"));
  const bin = join(dir, "relay");
  execFileSync(process.env.GO ?? "go", ["build", "-o", bin, "./relay"], { cwd: repoDir, stdio: "inherit" });
  const env = { ...process.env, ...extraEnv, VEILSIGN_DEV_DIR: join(dir, "dev") };
  let proc = await runRelay(bin, dir, env, "127.0.0.1:0", timeoutMs);
  const kill = async () => {
    const child = proc.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  const base = proc.base;
  return {
    base,
    devDir: env.VEILSIGN_DEV_DIR,
    stderr: () => proc.stderr(),
    kill,
    async restart() {
      await kill();
      proc = await runRelay(bin, dir, env, new URL(base).host, timeoutMs);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function runRelay(bin, dir, env, addr, timeoutMs) {
  const child = spawn(bin, ["serve", "--demo", "--addr", addr, "--store", "sqlite:" + join(dir, "relay.db")], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (b) => (stderr = (stderr + b).slice(-8000)));
  const base = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the relay did not start in time:\n" + stderr)), timeoutMs);
    child.stdout.on("data", (b) => {
      out += b;
      const m = out.match(/veilsign relay listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited with ${code}:\n${stderr}`));
    });
  });
  return { base, child, stderr: () => stderr };
}

export async function demoToken(base, signer) {
  const res = await fetch(`${base}/demo/token?signer=${encodeURIComponent(signer)}`);
  if (!res.ok) throw new Error(`demo token: HTTP ${res.status}`);
  return (await res.text()).trim();
}

/** Waits for the newest code sent to phone in the relay's dev SMS outbox. */
export async function outboxCode(base, phone) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${base}/dev/outbox?phone=${encodeURIComponent(phone)}`);
    const msgs = await res.json();
    const last = Array.isArray(msgs) && msgs.length ? msgs[msgs.length - 1] : null;
    const m = last && String(last.Text ?? last.text ?? "").match(/: (\d{6}) /);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no code arrived in the outbox for ${phone}`);
}

/**
 * Plays the signer's browser and phone for an itsme authorisation URL of the demo
 * simulator: open the page, approve with the PIN in the app, wait for the redirect, and
 * follow it to the relay's callback.
 */
export async function approveItsme(base, url) {
  const first = await fetch(url, { redirect: "manual" });
  await first.arrayBuffer();
  let loc = first.headers.get("location");
  if (first.status === 200) {
    const id = first.headers.get("x-itsmesim-request");
    const wait = first.headers.get("x-itsmesim-wait");
    if (!id || !wait) throw new Error("the simulator page carries no X-Itsmesim-Request/Wait headers");
    const ok = await fetch(`${base}/itsme/app/approve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, pin: "12345", consent: true }),
    });
    await ok.arrayBuffer();
    if (ok.status !== 200) throw new Error(`approve: HTTP ${ok.status}`);
    for (let i = 0; i < 50 && !loc; i++) {
      const w = await fetch(`${base}/itsme${wait}`, { redirect: "manual" });
      await w.arrayBuffer();
      if (w.status === 302 || w.status === 303) loc = w.headers.get("location");
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!loc) throw new Error(`the simulator never redirected back (HTTP ${first.status})`);
  const cb = await fetch(new URL(loc, url), { redirect: "manual" });
  await cb.arrayBuffer();
  if (cb.status >= 400) throw new Error(`callback: HTTP ${cb.status}`);
}

/** A WebSocket (ws's, browser-compatible) that records every frame sent and every socket opened. */
export function recordingWebSocket() {
  const frames = [];
  const sockets = [];
  class Recording extends WebSocket {
    constructor(url) {
      super(url);
      sockets.push(this);
    }
    send(data, ...rest) {
      frames.push(Buffer.from(String(data), "utf8"));
      return super.send(data, ...rest);
    }
  }
  return { WebSocket: Recording, frames, sockets };
}

/**
 * Fails when a 32-byte window of any document appears in a frame, raw or inside a base64
 * or hex string of the frame's JSON.
 */
export function assertNoDocumentBytes(assert, frames, documents) {
  const views = (frame) => {
    const out = [frame];
    const text = frame.toString("utf8");
    for (const m of text.matchAll(/"([A-Za-z0-9+/=_-]{16,})"/g)) {
      out.push(Buffer.from(m[1], "base64"));
      if (/^[0-9a-fA-F]+$/.test(m[1]) && m[1].length % 2 === 0) out.push(Buffer.from(m[1], "hex"));
    }
    return out;
  };
  for (const [i, frame] of frames.entries()) {
    for (const v of views(frame)) {
      for (let at = 0; at + 32 <= v.length; at++) {
        const w = v.subarray(at, at + 32);
        for (const doc of documents) {
          assert.equal(doc.indexOf(w), -1, `frame ${i} (${frame.toString("utf8").slice(0, 80)}…) carries 32 bytes of a document at ${at}`);
        }
      }
    }
  }
}

/** The dev root CA of a relay started by startRelay, as a plain PEM certificate (pki.pem tags each block with a Role header). */
export function devRoots(relay) {
  const pem = readFileSync(join(relay.devDir, "pki.pem"), "utf8");
  const root = pem.match(/-----BEGIN CERTIFICATE-----\nRole: root\n\n([\s\S]*?)-----END CERTIFICATE-----/);
  if (!root) throw new Error("no root certificate in the dev PKI");
  return `-----BEGIN CERTIFICATE-----\n${root[1]}-----END CERTIFICATE-----\n`;
}

/** A 180 × 60 pt field rectangle with its lower-left corner at (x, y). */
export const box = (x, y) => ({ llx: x, lly: y, urx: x + 180, ury: y + 60 });

/**
 * Verifies bytes (with veilsign, the package under test) against relay's dev root and
 * asserts count signatures, each intact, trusted, B-T with a valid time-stamp and followed
 * only by allowed changes, and Acrobat's summary. Returns the report.
 */
export async function checkSigned(veilsign, relay, bytes, count) {
  const rep = await veilsign.verify(bytes, { roots: devRoots(relay) });
  assert.equal(rep.signatures.length, count, rep.summary);
  for (const s of rep.signatures) {
    assert.equal(s.integrity, "valid", JSON.stringify(s));
    assert.equal(s.certificateTrusted, true, JSON.stringify(s));
    assert.equal(s.level, "B-T");
    assert.equal(s.timestamp.valid, true);
    assert.ok(s.changesAfter.every((c) => c.allowed), JSON.stringify(s.changesAfter));
  }
  assert.equal(rep.valid, true, rep.summary);
  assert.equal(rep.summary, "Signed and all signatures are valid.");
  return rep;
}
