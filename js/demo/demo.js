// The veilsign demo portal: open a PDF, place signature fields for A, B and C, sign each
// through the relay (itsme simulator, pen, SMS/TAN), download, verify. No framework: the
// DOM, the veilsign package and pdf.js. The document never leaves the page: veilsign sends
// only its digest.

import * as veilsign from "./veilsign.js";
import * as pdfjs from "./pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = new URL("./pdf.worker.min.mjs", import.meta.url).href;

const $ = (id) => document.getElementById(id);
const COLORS = { A: "#1565c0", B: "#6a1b9a", C: "#ef6c00" };
const METHODS = [
  ["itsme", "itsme®"],
  ["eid", "Belgian eID"],
  ["pen", "Pen (drawn)"],
  ["tan", "SMS / TAN"],
];
const MAX_PAGES = 30; // pages rendered; the rest are listed
const RENDER_LIMIT = 96 << 20; // larger files: only the first pages, and not again after each signature

const signers = [
  { label: "A", name: "Ada Lovelace", email: "ada@example.be", capacity: "Director", method: "itsme", phone: "", field: null, signed: false },
  { label: "B", name: "Bob Martin", email: "bob@example.be", capacity: "Witness", method: "pen", phone: "", field: null, signed: false },
  { label: "C", name: "Chloé Tan", email: "chloe@example.be", capacity: "", method: "tan", phone: "+32470123456", field: null, signed: false },
];

// source is the document as a Blob: the file picked, then each signed result. The page never
// holds the document's bytes: the core's worker has its copy, pdf.js reads ranges of the
// Blob, and the browser keeps a large Blob out of the page's memory.
let doc = null; // { name, size, source (Blob), info }
let pages = []; // { number, viewport, el }
let placing = null; // the signer whose field is being placed
let busy = false;
let planLocked = false;
let roots;
let ink = [];
let downloadURL = null;
let signingMethod = null; // the method of the signature under way, for its status sentences
let card = null; // GET /demo/eid: { available, holder, pin } or { reason }
let ahead = null; // an AbortController while a signature prepared offline waits for the relay

const ready = veilsign.initialize({
  wasmURL: new URL("./veilsign.wasm", import.meta.url),
  workerURL: new URL("./veilsign-worker.js", import.meta.url),
});

function status(text, progress) {
  $("status").textContent = text;
  const bar = $("progress");
  if (progress === undefined) {
    bar.hidden = true;
  } else {
    bar.hidden = false;
    if (progress === null) bar.removeAttribute("value");
    else bar.value = progress;
  }
}

// ---- signers -------------------------------------------------------------------------

function renderSigners() {
  const box = $("signers");
  box.replaceChildren();
  for (const s of signers) {
    const el = document.createElement("div");
    el.className = "signer";
    el.style.setProperty("--c", COLORS[s.label]);
    const input = (key, placeholder, type = "text") => {
      const i = document.createElement("input");
      i.type = type;
      i.placeholder = placeholder;
      i.value = s[key];
      i.dataset.testid = `${key}-${s.label}`;
      i.disabled = planLocked;
      i.addEventListener("input", () => {
        s[key] = i.value;
      });
      return i;
    };
    const row = (...children) => {
      const r = document.createElement("div");
      r.className = "row";
      r.append(...children);
      return r;
    };
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = s.label;
    const method = document.createElement("select");
    method.dataset.testid = `method-${s.label}`;
    method.disabled = planLocked;
    for (const [v, t] of METHODS) {
      const o = new Option(t, v, false, v === s.method);
      // No demo eID card (no SoftHSM2 on the relay's machine): offered, but not choosable.
      if (v === "eid" && card && !card.available) Object.assign(o, { disabled: true, title: card.reason });
      method.add(o);
    }
    method.addEventListener("change", () => {
      s.method = method.value;
      renderSigners();
      updatePen();
    });
    const place = document.createElement("button");
    place.type = "button";
    place.className = "secondary";
    place.dataset.testid = `place-${s.label}`;
    place.textContent = s.field ? `Field on p. ${s.field.page} ✓` : "Place field";
    place.disabled = planLocked || !doc;
    place.addEventListener("click", () => startPlacing(s));
    const sign = document.createElement("button");
    sign.type = "button";
    sign.dataset.testid = `sign-${s.label}`;
    sign.textContent = `Sign as ${s.label}`;
    sign.disabled = !doc || s.signed || busy;
    sign.addEventListener("click", () => signAs(s));
    el.append(row(label, input("name", "Name"), method), row(input("email", "E-mail", "email"), input("capacity", "Capacity")));
    if (s.method === "tan") el.append(row(input("phone", "Mobile (+32…)", "tel")));
    const state = document.createElement("span");
    state.dataset.testid = `state-${s.label}`;
    if (s.signed) {
      state.className = "done";
      state.textContent = "Signed ✓";
    }
    el.append(row(place, sign, state));
    box.append(el);
  }
}

function buildPlan() {
  const list = signers.filter((s) => s.name.trim() !== "");
  return {
    signers: list.map((s) => ({
      label: s.label,
      name: s.name.trim(),
      capacity: s.capacity.trim() || undefined,
      email: s.email.trim() || undefined,
      method: s.method,
      field: s.field ? { page: s.field.page, rect: s.field.rect } : undefined,
    })),
  };
}

// ---- pages and field placement ------------------------------------------------------------

/**
 * pdf.js's source for a Blob: it asks for the ranges it parses (the cross-reference table,
 * the pages it renders) and gets slices of the Blob, instead of a copy of the whole document
 * in the page and another in its worker (for a 200 MB file, 400 MB the tab does not have).
 */
function rangeSource(blob) {
  const transport = new pdfjs.PDFDataRangeTransport(blob.size, null);
  let ended = false; // pdf.js ends the transport when its task is destroyed
  transport.abort = () => (ended = true);
  transport.requestDataRange = (begin, end) => {
    blob
      .slice(begin, end)
      .arrayBuffer()
      .then((b) => ended || transport.onDataRange(begin, new Uint8Array(b)))
      .catch((err) => console.error(`pdf.js range ${begin}-${end}: ${describe(err)}`));
  };
  // No background fetching of the rest: rendering needs only what it asks for.
  return { range: transport, disableAutoFetch: true, disableStream: true, rangeChunkSize: 256 << 10 };
}

async function renderPages(blob) {
  const box = $("pages");
  box.replaceChildren();
  pages = [];
  const task = pdfjs.getDocument({ ...rangeSource(blob), isEvalSupported: false });
  const pdf = await task.promise;
  try {
    const n = Math.min(pdf.numPages, MAX_PAGES);
    for (let i = 1; i <= n; i++) {
      const page = await pdf.getPage(i);
      const base = page.getViewport({ scale: 1 });
      // As wide as the column allows (a phone's screen), at most 680 px.
      const viewport = page.getViewport({ scale: Math.min(1.5, Math.min(680, box.clientWidth || 680) / base.width) });
      const el = document.createElement("div");
      el.className = "page";
      el.dataset.page = String(i);
      el.dataset.testid = `page-${i}`;
      el.style.width = `${viewport.width}px`;
      el.style.height = `${viewport.height}px`;
      const canvas = document.createElement("canvas");
      const dpr = window.devicePixelRatio || 1;
      canvas.width = Math.floor(viewport.width * dpr);
      canvas.height = Math.floor(viewport.height * dpr);
      canvas.style.width = `${viewport.width}px`;
      canvas.style.height = `${viewport.height}px`;
      const overlay = document.createElement("div");
      overlay.className = "overlay";
      el.append(canvas, overlay);
      box.append(el);
      const view = { number: i, viewport, el, overlay };
      pages.push(view);
      attachPlacement(view);
      await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport, transform: dpr !== 1 ? [dpr, 0, 0, dpr, 0, 0] : undefined }).promise;
      page.cleanup();
    }
    if (pdf.numPages > n) {
      const more = document.createElement("p");
      more.className = "muted";
      more.textContent = `… and ${pdf.numPages - n} more pages.`;
      box.append(more);
    }
  } finally {
    await task.destroy();
  }
  drawFields();
}

function startPlacing(s) {
  placing = s;
  for (const p of pages) p.el.classList.add("placing");
  status(`Drag a rectangle on a page for ${s.label} (${s.name}).`);
  // On a phone the pages are below the signers: bring the first one into view.
  const first = pages[0]?.el;
  if (first && first.getBoundingClientRect().top > window.innerHeight) first.scrollIntoView({ block: "start" });
}

function attachPlacement(view) {
  let start = null;
  let box = null;
  const at = (ev) => {
    const r = view.overlay.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  view.overlay.addEventListener("pointerdown", (ev) => {
    if (!placing) return;
    ev.preventDefault();
    view.overlay.setPointerCapture(ev.pointerId);
    start = at(ev);
    box = document.createElement("div");
    box.className = "field";
    box.style.setProperty("--c", COLORS[placing.label]);
    view.overlay.append(box);
  });
  view.overlay.addEventListener("pointermove", (ev) => {
    if (!start) return;
    const [x, y] = at(ev);
    Object.assign(box.style, {
      left: `${Math.min(x, start[0])}px`,
      top: `${Math.min(y, start[1])}px`,
      width: `${Math.abs(x - start[0])}px`,
      height: `${Math.abs(y - start[1])}px`,
    });
  });
  view.overlay.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const end = at(ev);
    const s = placing;
    const [x0, y0] = view.viewport.convertToPdfPoint(start[0], start[1]);
    const [x1, y1] = view.viewport.convertToPdfPoint(end[0], end[1]);
    start = null;
    box.remove();
    const rect = { llx: round(Math.min(x0, x1)), lly: round(Math.min(y0, y1)), urx: round(Math.max(x0, x1)), ury: round(Math.max(y0, y1)) };
    if (rect.urx - rect.llx < 20 || rect.ury - rect.lly < 10) {
      status("That rectangle is too small: drag a larger one.");
      return;
    }
    s.field = { page: view.number, rect };
    placing = null;
    for (const p of pages) p.el.classList.remove("placing");
    drawFields();
    renderSigners();
    status(`Field of ${s.label} placed on page ${view.number}.`);
    // On a phone the signers are above the pages: back to them, where the next step is.
    if (window.matchMedia("(max-width: 900px)").matches) $("signers").scrollIntoView({ block: "start" });
  });
}

const round = (v) => Math.round(v * 10) / 10;

function drawFields() {
  for (const p of pages) for (const f of p.overlay.querySelectorAll(".field")) f.remove();
  if (planLocked) return; // the signed document shows them itself
  for (const s of signers) {
    const view = s.field && pages.find((p) => p.number === s.field.page);
    if (!view) continue;
    const r = s.field.rect;
    const [ax, ay] = view.viewport.convertToViewportPoint(r.llx, r.ury);
    const [bx, by] = view.viewport.convertToViewportPoint(r.urx, r.lly);
    const el = document.createElement("div");
    el.className = "field";
    el.dataset.testid = `field-${s.label}`;
    el.style.setProperty("--c", COLORS[s.label]);
    Object.assign(el.style, { left: `${Math.min(ax, bx)}px`, top: `${Math.min(ay, by)}px`, width: `${Math.abs(bx - ax)}px`, height: `${Math.abs(by - ay)}px` });
    el.textContent = `${s.label} · ${s.name}`;
    view.overlay.append(el);
  }
}

// ---- opening ---------------------------------------------------------------------------

async function openFile(file) {
  if (busy) return;
  busy = true;
  try {
    status(`Opening ${file.name}…`, null);
    await ready;
    const info = await veilsign.open(file); // streamed into the worker's buffer
    doc = { name: file.name, size: file.size, source: file, info };
    planLocked = false;
    for (const s of signers) Object.assign(s, { field: null, signed: false });
    $("download").hidden = true;
    $("docinfo").textContent = `${file.name}: ${info.pages} page${info.pages === 1 ? "" : "s"}, PDF ${info.version}, ${mb(file.size)}${info.signed ? ", already signed" : ""}.`;
    renderSigners();
    updatePen();
    status("Rendering the pages…", null);
    await renderPages(file);
    if (info.signed) await showReport();
    else $("report").hidden = true;
    status(`Opened ${file.name}. Place the signers' fields, then sign.`);
  } catch (err) {
    status(`Cannot open ${file.name}: ${describe(err)}`);
  } finally {
    busy = false;
    renderSigners();
  }
}

const mb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} kB`);

function describe(err) {
  if (err && err.code) return `${err.message} (${err.code})`;
  return String(err && err.message ? err.message : err);
}

// ---- signing ---------------------------------------------------------------------------

const STATES = {
  "awaiting-consent": "Confirm your identity in the itsme® app (the simulator's phone on this page, PIN 12345)…",
  "awaiting-approval": "Waiting for your approval in the itsme® app…",
  "otp-sent": "A code was sent by SMS: type it in below.",
  signing: "Signing…",
  timestamping: "Adding the qualified timestamp…",
};

async function signAs(s) {
  if (busy || !doc) return;
  if (!$("read").checked) return status("Tick “I have read the document and agree to sign it” first.");
  if (!s.name.trim()) return status(`Give ${s.label} a name first.`);
  if (s.method === "pen" && ink.length === 0) return status(`Draw ${s.label}'s signature in the box first.`);
  if (s.method === "tan" && !s.phone.trim().startsWith("+")) return status("A TAN signature needs the mobile number in international form (+32…).");
  busy = true;
  renderSigners();
  try {
    signingMethod = s.method;
    const plan = buildPlan();
    const level = $("level").value;
    const layout = await veilsign.preflight(plan, s.label);
    const sub = (s.email.trim() || `${s.label}-${s.name}`).toLowerCase();
    // Offline with the chain this method and signer used last time: prepare and hash now,
    // and let sign() wait for the relay. Otherwise wait for the relay first, as before.
    const known = rememberedChain(s.method, sub);
    ahead = known && !(navigator.onLine && (await relayAnswers())) ? new AbortController() : null;
    if (!ahead) {
      await reachRelay();
      status("Connecting to the relay…", null);
    }
    const signer = { name: s.name.trim() };
    if (s.email.trim()) signer.email = s.email.trim();
    if (s.capacity.trim()) signer.capacity = s.capacity.trim();
    if (s.method === "tan") signer.phone = s.phone.replace(/\s+/g, "");
    const result = await veilsign.sign({
      relay: location.origin,
      // Offline, the token is fetched only once the relay answers.
      token: ahead ? () => sessionToken(sub) : await sessionToken(sub),
      chain: ahead ? known : undefined,
      signal: ahead?.signal,
      signer,
      method: s.method,
      label: s.label,
      plan,
      documentLabel: doc.name,
      level,
      ink: s.method === "pen" ? ink : undefined,
      evidence: s.method === "pen" ? "Drawn in the veilsign demo" : s.method === "tan" ? `SMS to ${maskPhone(signer.phone)}` : undefined,
      onStatus: onSignStatus,
      openURL: openItsme,
      otp: s.method === "eid" ? askCardPIN : askOTP,
    });
    rememberChain(s.method, sub, result.chain);
    s.signed = true;
    planLocked = true;
    // The signed document goes into a Blob (the download, the next signer's source and
    // pdf.js's); result.bytes is then dropped, so the page keeps no copy of its own.
    const signed = new Blob([result.bytes], { type: "application/pdf" });
    result.bytes = null;
    doc.source = signed;
    doc.size = signed.size;
    if (s.method === "pen") clearPen();
    if (downloadURL) URL.revokeObjectURL(downloadURL);
    downloadURL = URL.createObjectURL(signed);
    const a = $("download");
    a.href = downloadURL;
    a.download = doc.name.replace(/\.pdf$/i, "") + "-signed.pdf";
    a.hidden = false;
    status(`Signed by ${s.label} (${layoutText(layout)}); checking…`, null);
    $("itsme").hidden = true;
    // Open the result: the next signer signs it, and verify() reads it in the worker.
    doc.info = await veilsign.open(signed);
    await showReport();
    if (doc.size <= RENDER_LIMIT) await renderPages(signed);
    const offline = result.preparedAhead ? ", prepared offline" : "";
    const lowMemory = result.lowMemory ? ", hashed with the core unloaded" : "";
    status(`${s.name} signed (${s.method}, PAdES ${result.level}${offline}${lowMemory}). ${$("summary").textContent}`);
  } catch (err) {
    const stopped = ahead?.signal.aborted && err?.code === "aborted";
    status(`Signing failed: ${stopped ? "you stopped waiting for the relay; nothing was sent (the prepared signature is dropped)" : describe(err)}`);
    // sign() leaves the document open when it fails before embedding; reopen otherwise.
    if (doc && !(await isOpen())) await veilsign.open(doc.source).catch(() => {});
  } finally {
    busy = false;
    ahead = null;
    showStop(false);
    $("otp").hidden = true;
    renderSigners();
    updatePen();
  }
}

// Signing is the one step that needs the relay. Without it, say so and wait: retry when the
// browser says it is back online and every few seconds (a relay can come back while the
// network never went away). Nothing has been sent yet, so giving up loses nothing: the
// document stays open with its fields and the signer can sign later.
const RELAY_RETRY_MS = 3000;
const RELAY_WAIT_MS = 10 * 60 * 1000;

async function reachRelay() {
  const deadline = Date.now() + RELAY_WAIT_MS;
  const stop = new AbortController();
  const cancel = $("cancel-wait");
  const onCancel = () => stop.abort();
  try {
    for (;;) {
      if (navigator.onLine && (await relayAnswers())) return;
      if (Date.now() > deadline) throw waitError("relay-unreachable", "the relay stayed unreachable for 10 minutes; try again later");
      cancel.hidden = false;
      cancel.addEventListener("click", onCancel, { once: true });
      status(
        navigator.onLine
          ? "Waiting for the relay: it cannot be reached. Signing starts by itself when it answers; the document and its fields stay ready."
          : "Waiting for the network: signing needs the relay, and this browser is offline. Signing starts by itself when the network returns.",
        null,
      );
      await new Promise((resolve) => {
        const t = setTimeout(resolve, RELAY_RETRY_MS);
        const done = () => {
          clearTimeout(t);
          window.removeEventListener("online", done);
          stop.signal.removeEventListener("abort", done);
          resolve();
        };
        window.addEventListener("online", done);
        stop.signal.addEventListener("abort", done);
      });
      if (stop.signal.aborted) throw waitError("cancelled", "you stopped waiting for the relay; nothing was sent");
    }
  } finally {
    cancel.hidden = true;
    cancel.removeEventListener("click", onCancel);
  }
}

// /healthz is the relay's own route: the service worker never answers it from its cache.
async function relayAnswers() {
  try {
    const res = await fetch("/healthz", { cache: "no-store" });
    return res.ok;
  } catch {
    return false;
  }
}

async function sessionToken(sub) {
  const res = await fetch(`/demo/token?signer=${encodeURIComponent(sub)}`);
  if (!res.ok) throw new Error(`no session token (HTTP ${res.status})`);
  return (await res.text()).trim();
}

// The certificate chain of each method and signer, as the relay gave it for their last
// signature (SignResult.chain), so that a later signature can be prepared offline. Pen and
// TAN are sealed with the service's certificate, the same for every signer: one chain per
// method. itsme and eID carry the signer's own: one per signer.
const CHAIN_KEY = "veilsign-demo-chain:";
const chainKey = (method, sub) => CHAIN_KEY + (method === "pen" || method === "tan" ? method : `${method}:${sub}`);

function rememberChain(method, sub, chain) {
  try {
    localStorage.setItem(chainKey(method, sub), JSON.stringify(chain.map((c) => btoa(String.fromCharCode(...c)))));
  } catch {
    // Storage full or refused: signing offline then waits for the relay, as without a chain.
  }
}

function rememberedChain(method, sub) {
  try {
    const list = JSON.parse(localStorage.getItem(chainKey(method, sub)) ?? "null");
    if (!Array.isArray(list) || list.length === 0) return undefined;
    return list.map((b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

// "Stop waiting" while a signature prepared offline waits for the relay.
function showStop(on) {
  const cancel = $("cancel-wait");
  cancel.hidden = !on;
  cancel.onclick = on ? () => ahead?.abort() : null;
}

function waitError(code, message) {
  return Object.assign(new Error(message), { code });
}

async function isOpen() {
  try {
    await veilsign.fields();
    return true;
  } catch {
    return false;
  }
}

function layoutText(l) {
  return { "signature-page": "on the signature page", slot: "in their slot", "first-in-document": "at their field", "in-document": "at their field", "new-slot": "in a new slot", "counter-signature": "as a counter-signature" }[l.kind] ?? l.kind;
}

function maskPhone(p) {
  return p.slice(0, 3) + " ••• •• " + p.slice(-2);
}

function onSignStatus(st) {
  switch (st.step) {
    case "identifying":
      showStop(false); // from here on the relay is talking to the signer
      return status("Identifying the signer…", null);
    case "preparing":
      return status(`Preparing the signature: stamping and hashing ${mb(doc.size)} in the page…`, null);
    case "prepared":
    case "connecting":
      if (!ahead) return status("Connecting to the relay…", null);
      showStop(true);
      return status("Prepared and hashed offline — waiting for the relay to sign…", null);
    case "waiting-for-relay":
      showStop(true);
      return status(
        `Prepared and hashed offline — waiting for the ${navigator.onLine ? "relay" : "network"} to sign… Nothing has been sent; signing continues by itself when the relay answers.`,
        null,
      );
    case "chain-changed":
      return status("The signer's certificate changed since it was remembered: preparing the signature again…", null);
    case "hashing":
      return status(`Hashing the document: ${mb(st.bytesHashed)} of ${mb(st.totalBytes)}…`, st.totalBytes ? st.bytesHashed / st.totalBytes : null);
    case "waiting":
      // The sentences in STATES are itsme's; the card and the TAN say their own.
      return status((signingMethod !== "itsme" && st.message) || STATES[st.state] || st.message || "Waiting for the signer…", null);
    case "embedding":
      return status("Checking the signature and writing it into the PDF…", null);
    case "extending":
      return status("Adding the validation data and the document timestamp (long-term levels)…", null);
    case "done":
      return status("Signed.", 1);
  }
}

// The itsme simulator: the "browser" page (authorisation, continuing by itself) and the
// "phone" where the signer types the PIN, side by side with the document.
function openItsme(url) {
  $("itsme").hidden = false;
  $("itsme").scrollIntoView({ block: "nearest" });
  const web = $("itsme-web");
  const phone = $("itsme-phone");
  web.addEventListener("load", () => (phone.src = `/itsme/app?at=${Date.now()}`), { once: true });
  web.src = url;
}

const askOTP = () => askCode("Code received by SMS", "text");

// The demo eID card sits in a card reader on the relay's machine: its PIN is typed here,
// as on a reader's keypad, and goes to the relay like a TAN code.
const askCardPIN = () => askCode(`Card reader: the PIN of the eID card${card?.holder ? ` of ${card.holder}` : ""} (demo card: ${card?.pin ?? "1234"})`, "password");

function askCode(label, type) {
  const box = $("otp");
  const input = $("otp-code");
  $("otp-label").textContent = label;
  input.type = type;
  input.value = "";
  box.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    const done = () => {
      const code = input.value.trim();
      if (!code) return;
      $("otp-ok").removeEventListener("click", done);
      input.removeEventListener("keydown", key);
      box.hidden = true;
      status("Checking the code…", null);
      resolve(code);
    };
    const key = (ev) => ev.key === "Enter" && done();
    $("otp-ok").addEventListener("click", done);
    input.addEventListener("keydown", key);
  });
}

// ---- pen ---------------------------------------------------------------------------------

function updatePen() {
  const s = signers.find((x) => x.method === "pen" && !x.signed);
  $("pen").hidden = !s;
  if (s) $("pen-who").textContent = `${s.label} (${s.name})`;
}

function clearPen() {
  ink = [];
  const c = $("pen-canvas");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
}

function setupPen() {
  const c = $("pen-canvas");
  const ctx = c.getContext("2d");
  let stroke = null;
  const point = (ev) => {
    const r = c.getBoundingClientRect();
    return [((ev.clientX - r.left) * c.width) / r.width, ((ev.clientY - r.top) * c.height) / r.height];
  };
  // Unit box, y up (PDF): the longer side is 1, the drawing centred on the shorter one.
  const unit = ([x, y]) => {
    const s = Math.max(c.width, c.height);
    const u = x / s + (1 - c.width / s) / 2;
    const v = (c.height - y) / s + (1 - c.height / s) / 2;
    return [Math.round(u * 1000) / 1000, Math.round(v * 1000) / 1000];
  };
  c.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    c.setPointerCapture(ev.pointerId);
    const p = point(ev);
    stroke = [unit(p)];
    ink.push(stroke);
    ctx.lineWidth = 2.5;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.strokeStyle = "#0d1a59";
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
  });
  c.addEventListener("pointermove", (ev) => {
    if (!stroke) return;
    const p = point(ev);
    stroke.push(unit(p));
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
  });
  const end = () => {
    stroke = null;
  };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
  $("pen-clear").addEventListener("click", clearPen);
}

// ---- verification ------------------------------------------------------------------------------

async function devRoots() {
  if (roots !== undefined) return roots;
  try {
    const res = await fetch("/demo/roots.pem");
    roots = res.ok ? await res.text() : null;
  } catch {
    roots = null; // offline and never cached: no trust judged
  }
  return roots;
}

async function showReport() {
  const r = await veilsign.verify(undefined, (await devRoots()) ? { roots: roots } : {});
  const panel = $("report");
  panel.hidden = false;
  const summary = $("summary");
  summary.textContent = r.summary;
  summary.className = `summary ${r.valid ? "ok" : "bad"}`;
  const list = $("sigs");
  list.replaceChildren();
  for (const sig of r.signatures) {
    const li = document.createElement("li");
    li.dataset.level = sig.level;
    if (sig.method === "timestamp") {
      // A document time-stamp (B-LTA): an entry of its own, not a signer.
      li.dataset.testid = "document-timestamp";
      const head = document.createElement("strong");
      head.textContent = `${sig.integrity === "valid" ? "✔" : "✘"} Document timestamp`;
      const at = sig.timestamp?.time || sig.signedAt;
      li.append(
        head,
        details([
          ["Method", sig.method],
          ["Time", at ? new Date(at).toLocaleString() : "—"],
          ["Authority", `${sig.signer?.commonName || sig.timestamp?.tsa || "—"}${sig.certificateTrusted ? " — trusted" : ""}`],
          ["Integrity", sig.integrity + (sig.coversWholeDocument ? ", covers the whole document" : ", later revisions follow")],
          ["Level", sig.level ? `PAdES ${sig.level}` : "—"],
        ]),
      );
      list.append(li);
      continue;
    }
    li.dataset.testid = "signature";
    const cn = sig.signer.commonName || [sig.signer.givenName, sig.signer.surname].filter(Boolean).join(" ");
    // Pen and TAN are sealed by the service: show the planned signer, and the seal below.
    const sealed = sig.method === "pen" || sig.method === "tan";
    const planned = signers.find((s) => s.label === sig.reference);
    const name = sealed && planned ? planned.name : cn;
    const head = document.createElement("strong");
    head.textContent = `${sig.integrity === "valid" ? "✔" : "✘"} ${name}${sig.reference ? ` (${sig.reference})` : ""}`;
    const q = sig.qualified;
    const rows = [
      ["Method", sig.method],
      ["National number", sig.signer.serialNumber || "—"],
      ["Signed at", sig.signedAt ? new Date(sig.signedAt).toLocaleString() : "—"],
      ["Timestamp", sig.timestamp.present ? `${sig.timestamp.valid ? "valid" : "INVALID"}, ${sig.timestamp.time ? new Date(sig.timestamp.time).toLocaleString() : ""}${sig.timestamp.tsa ? ` by ${sig.timestamp.tsa}` : ""}` : "none"],
      ["Qualified", q.qcCompliance ? `yes${q.qscd ? ", on a QSCD" : ""}${q.type ? ` (${q.type})` : ""}` : "no"],
      ["Integrity", sig.integrity + (sig.coversWholeDocument ? ", covers the whole document" : ", later revisions follow")],
      ["Certificate", `${sealed ? `seal of ${cn}, ` : ""}${sig.issuer}${sig.certificateTrusted ? " — trusted" : ""}`],
      ["Level", `PAdES ${sig.level}`],
    ];
    if (sig.revocation) rows.push(["Revocation", `${sig.revocation.status}${sig.revocation.source ? ` (${sig.revocation.source})` : ""}`]);
    const bad = sig.changesAfter.filter((c) => !c.allowed);
    if (bad.length) rows.push(["Changed after", bad.map((c) => c.detail).join("; ")]);
    if (sig.changesNotListed) rows.push(["Not listed", `${sig.changesNotListed} more change(s) after this signature`]);
    li.append(head, details(rows));
    list.append(li);
  }
  return r;
}

function details(rows) {
  const dl = document.createElement("dl");
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dd.dataset.field = k;
    dl.append(dt, dd);
  }
  return dl;
}

// ---- wiring ---------------------------------------------------------------------------------

function setupDrop() {
  const drop = $("drop");
  $("file").addEventListener("change", (ev) => {
    const f = ev.target.files?.[0];
    // Cleared, so that picking the same file again opens it again.
    ev.target.value = "";
    if (f) openFile(f);
  });
  for (const t of [drop, document.body]) {
    t.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      drop.classList.add("over");
    });
    t.addEventListener("dragleave", () => drop.classList.remove("over"));
    t.addEventListener("drop", (ev) => {
      ev.preventDefault();
      drop.classList.remove("over");
      const f = ev.dataTransfer?.files?.[0];
      if (f) openFile(f);
    });
  }
}

function setupNetwork() {
  const show = () => {
    const n = $("net");
    n.textContent = navigator.onLine ? "online" : "offline: open, place fields and verify still work; signing waits";
    n.classList.toggle("off", !navigator.onLine);
  };
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
}

$("verify-btn").addEventListener("click", async () => {
  if (!doc) return status("Open a PDF first.");
  try {
    const r = await showReport();
    status(r.summary);
  } catch (err) {
    status(`Cannot verify: ${describe(err)}`);
  }
});

setupDrop();
setupPen();
setupNetwork();
renderSigners();
updatePen();
ready.then(
  () => {
    document.body.dataset.ready = "true";
    status("Ready. Open a PDF to start.");
  },
  (err) => status(`The signing core did not load: ${describe(err)}`),
);
devRoots();
fetch("/demo/eid")
  .then((r) => (r.ok ? r.json() : null))
  .then((c) => {
    card = c;
    if (card && !card.available) {
      $("eid-note").hidden = false;
      $("eid-note").textContent = `No Belgian eID in this demo: ${card.reason}.`;
    }
    renderSigners();
  })
  .catch(() => {}); // offline and never cached: eID stays offered, signing waits anyway
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => console.warn("service worker:", err));
}
