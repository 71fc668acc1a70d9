// The public API of the veilsign package: the contract. index.ts implements it; the JSON
// shapes below are those of pdfcore's Go types (their json tags), which the WASM core
// returns unchanged.

import type { HashAlgorithm, Signer as RelaySigner, State } from "./protocol.js";

export type { HashAlgorithm, State };

/** How a signer signs. itsme, eid and x509 sign with their own certificate; pen and tan are sealed by the service. */
export type Method = "itsme" | "eid" | "x509" | "pen" | "tan";

/** A rectangle in PDF user space: points, origin bottom left. */
export interface Rect {
  llx: number;
  lly: number;
  urx: number;
  ury: number;
}

/** What a veilsign signature field records about its planned signer. */
export interface Slot {
  label: string;
  name: string;
  capacity?: string;
  email?: string;
  method: Method;
  onSignaturePage: boolean;
}

/** A signature field of the document, signed or empty. */
export interface SignatureField {
  name: string;
  /** 1-based; 0 when the widget names no page. */
  page: number;
  rect: Rect;
  signed: boolean;
  slot?: Slot;
}

/** What open() answers about a document. */
export interface DocumentInfo {
  pages: number;
  /** Header version, e.g. "1.7". */
  version: string;
  fields: SignatureField[];
  signed: boolean;
  /** DocMDP permission of a certifying signature (1, 2, 3), 0 when not certified. */
  mdp: number;
  size: number;
}

/** Where a signer's mark goes: a rectangle on a page, or an existing empty signature field by name. */
export interface FieldPlacement {
  page: number;
  rect: Rect;
  name?: string;
}

/** One planned signer. */
export interface PlanSigner {
  /** The reference letter: A, B, C… */
  label: string;
  name: string;
  capacity?: string;
  email?: string;
  method: Method;
  field?: FieldPlacement;
}

/** The whole signing plan, known before the first signature. */
export interface Plan {
  signers: PlanSigner[];
}

export type LayoutKind =
  | "signature-page"
  | "first-in-document"
  | "slot"
  | "in-document"
  | "new-slot"
  | "counter-signature";

/** How a signature will be placed, and why (pre-flight). */
export interface Layout {
  kind: LayoutKind;
  reason: string;
}

/** Error codes: those of pdfcore (the document), of the relay protocol, and of this package. */
export type ErrorCode =
  // pdfcore
  | "not-pdf"
  | "encrypted"
  | "damaged-xref"
  | "damaged-object"
  | "no-changes-allowed"
  | "contents-too-small"
  | "digest-mismatch"
  | "bad-cms"
  | "bad-plan"
  | "already-signed"
  | "no-room"
  | "bad-image"
  | "limit"
  | "bad-validation-data"
  | "read-failed"
  // the WASM bindings and this package
  | "bad-argument"
  | "internal"
  | "not-initialized"
  | "busy"
  | "no-document"
  | "connection-lost"
  | "aborted"
  | "timeout"
  // the relay (relay/protocol)
  | "frame-too-large"
  | "malformed-frame"
  | "unknown-type"
  | "unknown-field"
  | "bad-request"
  | "bad-digest"
  | "unauthorized"
  | "forbidden"
  | "rate-limited"
  | "out-of-order"
  | "limit-reached"
  | "unknown-session"
  | "signer-failed"
  | "signer-timeout"
  | "signer-refused"
  | "tsa-unavailable"
  | "wrong-otp"
  | "otp-expired"
  | "unavailable"
  | "method-not-offered"
  | "untrusted-chain"
  | "validation-unavailable";

/** The constructor of a browser-compatible WebSocket (globalThis.WebSocket, or ws's in Node 20). */
export interface WebSocketConstructor {
  new (url: string): WebSocketLike;
}

/** The part of the WebSocket interface the relay client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface InitializeOptions {
  /** Where veilsign.wasm is served; default: next to this module. */
  wasmURL?: string | URL;
  /** An already compiled module (e.g. from a cache), instead of wasmURL. */
  wasmModule?: WebAssembly.Module;
  /** Where veilsign-worker.js is served; default: next to this module. */
  workerURL?: string | URL;
  /**
   * Run the core in a Web Worker (worker_threads in Node) so the page never freezes.
   * Default true. Set false where workers are not available: the core then runs on the
   * calling thread (in an MV3 service worker, give `core` too).
   */
  worker?: boolean;
  /**
   * With worker: false, the core's class, imported by the caller from veilsign-worker.js
   * (`import { Core } from "veilsign/worker"`), instead of loading that module with import():
   * an MV3 extension's service worker must, since import() is not allowed there.
   */
  core?: new () => object;
  /** The WebSocket to reach the relay with; default globalThis.WebSocket, or the ws package in Node 20. */
  WebSocket?: WebSocketConstructor;
  /**
   * Documents of at least this many bytes are hashed while no core is loaded: the core's
   * worker ends after preparing, a new one (a standby, started by open() for such a
   * document) hashes and then starts the core again, before anything is sent. WebCrypto's digest holds the document twice; this keeps the core's
   * ~30 MB out of that peak, for ~0.2 s more per signature. Default 32 MiB; Infinity never,
   * 0 always. Only with worker: true, and without wasmModule the module is compiled again
   * (from the browser's cache) rather than kept.
   */
  lowMemoryAbove?: number;
}

/** Who signs, as the relay must know them (phone is needed for tan). */
export type SignerIdentity = RelaySigner;

/** The PAdES levels sign() can produce. */
export type Level = "B-B" | "B-T" | "B-LT" | "B-LTA";

export type SignStep =
  | "connecting"
  | "identifying"
  | "preparing"
  | "hashing"
  /**
   * With SignOptions.chain: the signature is prepared and its digest computed, before any
   * contact with the relay; nothing has been sent yet.
   */
  | "prepared"
  /**
   * With SignOptions.chain: the relay cannot be reached (offline, or down). sign() keeps
   * trying, with a back-off and at once when the browser says it is back online, until it
   * answers or signal/timeoutMs ends the wait; message says why.
   */
  | "waiting-for-relay"
  /**
   * With SignOptions.chain: the relay's chain for this signer is not the one given (a
   * re-issued or renewed certificate); the signature is prepared again with the relay's
   * chain ("preparing" follows) before anything is signed.
   */
  | "chain-changed"
  | "waiting"
  | "embedding"
  /** B-LT and B-LTA: adding the validation data, then the document time-stamp. */
  | "extending"
  | "done";

/** Progress of sign(). While the relay reports, step is "waiting" and state/url/message come from it. */
export interface SignStatus {
  step: SignStep;
  /** The relay's state (awaiting-approval, otp-sent…), when step is "waiting". */
  state?: State | string;
  /** A page the signer must open (itsme's approval); openURL is called once per URL. */
  url?: string;
  message?: string;
  /** While hashing in Go (no WebCrypto): bytes done and total. */
  bytesHashed?: number;
  totalBytes?: number;
}

export interface SignOptions {
  /** The relay: ws(s):// or http(s):// base URL, or the full …/v1/sign URL. */
  relay: string | URL;
  /**
   * The portal's session token for the relay, or a function that returns it. A function is
   * called once, when the relay has first been reached (so a page that signs offline with
   * a known chain can fetch a fresh token only then); its error ends sign() as it is.
   */
  token: string | (() => string | Promise<string>);
  signer: SignerIdentity;
  method: Method;
  /** The signer's reference in the plan (A, B…). */
  label: string;
  plan: Plan;
  /** Shown to the signer (e.g. in the itsme app); never the document itself. Default "Document". */
  documentLabel?: string;
  /**
   * PAdES level. Default "B-T" (with a signature time-stamp); "B-B" has none. "B-LT" adds the
   * validation data (OCSP, CRLs, certificates) the relay fetches for the document's
   * certificate chains in a DSS update, and "B-LTA" then a document time-stamp.
   */
  level?: Level;
  hash?: HashAlgorithm;
  /**
   * The signer's certificate chain (DER, leaf first) as it was last used for this method
   * and signer: SignResult.chain of an earlier signature (the service's seal for pen and
   * tan is the same for every signer; itsme, eid and x509 are per signer). With it, sign()
   * prepares and hashes at once, before contacting the relay (step "prepared"), then waits
   * for the relay as long as it must ("waiting-for-relay", until signal or timeoutMs),
   * identifies the signer and compares the relay's chain with this one: when equal, the
   * digest already computed is sent; otherwise ("chain-changed") the signature is prepared
   * again with the relay's chain. Either way one digest is sent, and the returned CMS is
   * checked against the chain it was prepared with. The arrays are copied, never changed.
   * Without it, sign() identifies first and fails with connection-lost when the relay
   * cannot be reached, as nothing has been done yet.
   */
  chain?: Uint8Array[];
  /** Signing time written to /M; default now (with chain: when sign() is called, not when the relay answers). */
  time?: Date;
  /** Room for the CMS in bytes; default sized from the chain. */
  reserve?: number;
  /** A pen signature's drawing: strokes of [x, y] points in a unit box. */
  ink?: Array<Array<[number, number]>>;
  /** Evidence line for pen/TAN (e.g. the masked phone number). */
  evidence?: string;
  reason?: string;
  location?: string;
  contactInfo?: string;
  /** PNG or JPEG logos replacing the built-in method marks. */
  logos?: Partial<Record<Method, Uint8Array>>;
  onStatus?: (status: SignStatus) => void;
  /** Asked for the code when the relay sent one (tan). */
  otp?: () => Promise<string> | string;
  /** Opens a page the signer must visit (itsme). Default: window.open in a page, nothing elsewhere (use onStatus). */
  openURL?: (url: string) => void;
  signal?: AbortSignal;
  /** Gives up after this long; default 10 minutes (the signer may take time to approve). */
  timeoutMs?: number;
  /**
   * How long each attempt to reach the relay (socket open + welcome) may take before it
   * counts as a lost connection and is retried (default 15 s): a network that drops packets
   * instead of refusing would otherwise hold one attempt for minutes.
   */
  connectTimeoutMs?: number;
}

export interface SignResult {
  /**
   * The signed PDF: the opened document followed by the signed incremental update. It is a
   * view on a larger buffer (no copy was made to trim it): use bytes, not bytes.buffer.
   */
  bytes: Uint8Array;
  /** The reference of the signer who signed. */
  label: string;
  /** The signature field signed. */
  field: string;
  layout: Layout;
  /** The PAdES level delivered: the relay's, or B-LT/B-LTA once the document was extended. */
  level: string;
  byteRange: [number, number, number, number];
  /** Which code hashed the document: WebCrypto, or Go's SHA-2 where WebCrypto is missing. */
  hashedWith: "webcrypto" | "go";
  /**
   * Whether the document was hashed while no core was loaded, the core's worker started
   * again afterwards (InitializeOptions.lowMemoryAbove).
   */
  lowMemory: boolean;
  /**
   * The certificate chain the signature was made with (DER, leaf first), as the relay gave
   * it for this method and signer. Keep it (per method and signer; one for pen and tan) and
   * pass it as SignOptions.chain to prepare a later signature while the relay is out of reach.
   */
  chain: Uint8Array[];
  /** Whether the signature was prepared before the relay was reached, with SignOptions.chain, and that chain was still the relay's. */
  preparedAhead: boolean;
}

export interface VerifyOptions {
  /** PEM trust anchors; without them no trust is judged (certificateTrusted is false). */
  roots?: string | string[];
}

export interface Subject {
  commonName: string;
  givenName?: string;
  surname?: string;
  serialNumber?: string;
  country?: string;
  organization?: string;
}

export interface Qualified {
  qcCompliance: boolean;
  qscd: boolean;
  type?: string;
}

export interface TimestampReport {
  present: boolean;
  valid: boolean;
  time?: string;
  tsa?: string;
}

export interface Change {
  revision: number;
  kind: string;
  allowed: boolean;
  detail: string;
}

export interface SignatureReport {
  field: string;
  reference?: string;
  method: string;
  revision: number;
  byteRange: number[];
  coversRevision: boolean;
  coversWholeDocument: boolean;
  integrity: string;
  reason?: string;
  signer: Subject;
  issuer: string;
  certificateTrusted: boolean;
  qualified: Qualified;
  signedAt?: string;
  timestamp: TimestampReport;
  level: string;
  /** What later revisions changed, in revision order: at most 200 (fewer in a report of hundreds of signatures), those not allowed first when there are more. */
  changesAfter: Change[];
  /** How many changes after this signature changesAfter leaves out. */
  changesNotListed?: number;
  /** Set when the document carries validation data (a DSS). */
  revocation?: RevocationReport;
}

/** The revocation status of a signer's certificate, from the document's DSS. */
export interface RevocationReport {
  /** good, revoked, unknown or missing. */
  status: string;
  /** ocsp or crl. */
  source?: string;
  updated?: string;
  revokedAt?: string;
  checkedAt: string;
}

/** The verification of every signature of a document (pdfcore.Report). */
export interface VerifyReport {
  valid: boolean;
  summary: string;
  revisions: number;
  signatures: SignatureReport[];
}
