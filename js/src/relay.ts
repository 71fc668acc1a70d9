// The relay client: the TypeScript twin of relay/client/client.go. It speaks the protocol
// of protocol.ts over one websocket, reconnects and resumes the session when the socket
// drops, and re-sends a pending sign request with the same digest, which the relay answers
// from its store without asking the signer again. Only the identify message, digests, a
// short label, an OTP and acks are ever sent.

import { VeilsignError } from "./errors.js";
import * as P from "./protocol.js";
import type { WebSocketConstructor, WebSocketLike } from "./types.js";

export interface RelayClientOptions {
  /** ws(s):// or http(s):// base URL of the relay, or its full …/v1/sign URL. */
  url: string | URL;
  /** The session token, or a function called once for it when the relay is first reached. */
  token: string | (() => string | Promise<string>);
  WebSocket: WebSocketConstructor;
  onStatus?: (s: P.Status) => void;
  otp?: () => Promise<string> | string;
  /** Called once per URL a status asks the signer to open (a resumed session repeats its last status). */
  openURL?: (url: string) => void;
  /**
   * Reconnections per call (default 8). They back off from 100 ms, doubling up to 2 s: about
   * 10 s in all, enough for a relay to restart while the signer is approving.
   */
  retries?: number;
  /** Re-sends of a sign request after tsa-unavailable, which the relay retries without the signer (default 2). */
  tsaRetries?: number;
  /**
   * How long opening the socket and the relay's welcome may take (default 15 s). A network
   * that drops packets instead of refusing the connection (a captive portal, a dead mobile
   * link) otherwise leaves the socket opening until the browser gives up, minutes later;
   * past this the attempt counts as a lost connection and is retried.
   */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

const defaultConnectTimeoutMs = 15_000;

/** The relay's websocket URL for a base URL: http(s) becomes ws(s), and /v1/sign is added to a bare host. */
export function relaySocketURL(raw: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(raw));
  } catch {
    throw new VeilsignError("bad-argument", `relay must be a URL such as ws://127.0.0.1:8080, not ${JSON.stringify(String(raw))}`);
  }
  const schemes: Record<string, string> = { "ws:": "ws:", "http:": "ws:", "wss:": "wss:", "https:": "wss:" };
  const scheme = schemes[u.protocol];
  if (!scheme) throw new VeilsignError("bad-argument", "relay must be a ws://, wss://, http:// or https:// URL");
  u.protocol = scheme;
  if (u.pathname === "" || u.pathname === "/") u.pathname = `/v${P.Version}/sign`;
  return u.href;
}

class ConnectionLost extends Error {}

/** One websocket connection: sends frames and hands out the relay's messages in order. */
class Socket {
  private queue: P.ServerMessage[] = [];
  private waiting: { resolve(m: P.ServerMessage): void; reject(e: unknown): void } | null = null;
  private failure: unknown = null;

  private constructor(private readonly ws: WebSocketLike) {
    ws.onmessage = (ev) => {
      let msg: P.ServerMessage;
      try {
        if (typeof ev.data !== "string") throw new TypeError("the relay sent a binary frame");
        msg = P.decodeServer(ev.data);
      } catch (err) {
        this.fail(err);
        ws.close();
        return;
      }
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(msg);
      } else this.queue.push(msg);
    };
    ws.onclose = () => this.fail(new ConnectionLost("the connection to the relay closed"));
    ws.onerror = () => this.fail(new ConnectionLost("the connection to the relay failed"));
  }

  static open(Ctor: WebSocketConstructor, url: string, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new Ctor(url);
      } catch (err) {
        reject(err);
        return;
      }
      const timer = setTimeout(() => {
        reject(new ConnectionLost(`the relay at ${url} did not answer within ${Math.round(timeoutMs / 1000)} s`));
        try {
          ws.close();
        } catch {
          // not open yet
        }
      }, timeoutMs);
      const settle = (f: () => void) => () => {
        clearTimeout(timer);
        f();
      };
      ws.onopen = settle(() => resolve(new Socket(ws)));
      ws.onerror = settle(() => reject(new ConnectionLost(`cannot connect to the relay at ${url}`)));
      ws.onclose = settle(() => reject(new ConnectionLost(`the relay at ${url} closed the connection`)));
    });
  }

  /** The next message, or a lost connection when none comes within timeoutMs. */
  nextWithin(timeoutMs: number): Promise<P.ServerMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.close();
        reject(new ConnectionLost(`the relay did not answer within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
    });
    return Promise.race([this.next(), late]).finally(() => clearTimeout(timer));
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err;
    if (this.waiting) {
      this.waiting.reject(err);
      this.waiting = null;
    }
  }

  next(): Promise<P.ServerMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  send(msg: P.ClientMessage): void {
    const frame = JSON.stringify(msg);
    const limit = msg.type === P.TypeValidationData ? P.MaxChainFrame : P.MaxFrame;
    if (frame.length > limit) throw new VeilsignError("frame-too-large", `a ${msg.type} message of ${frame.length} bytes is over the relay's limit`);
    if (this.failure || this.ws.readyState !== 1) throw new ConnectionLost("the connection to the relay is closed");
    this.ws.send(frame);
  }

  close(): void {
    this.fail(new ConnectionLost("closed"));
    try {
      this.ws.close(1000, "");
    } catch {
      // already closed
    }
  }
}

/** One session with a relay. */
export class RelayClient {
  /** The relay's session id (kept across reconnections). */
  session = "";
  /** The signing methods the session may use. */
  methods: string[] = [];
  private sock: Socket | null = null;
  private readonly url: string;
  private readonly opened = new Set<string>();
  private token: string | null = null;

  constructor(private readonly opts: RelayClientOptions) {
    this.url = relaySocketURL(opts.url);
    opts.signal?.addEventListener("abort", () => this.sock?.close(), { once: true });
  }

  /** Opens the session. */
  async connect(): Promise<void> {
    this.checkAborted();
    const timeoutMs = this.opts.connectTimeoutMs ?? defaultConnectTimeoutMs;
    const sock = await Socket.open(this.opts.WebSocket, this.url, timeoutMs).catch((err) => {
      throw new VeilsignError("connection-lost", (err as Error).message ?? String(err), true);
    });
    this.sock = sock;
    let token: string;
    try {
      token = await this.sessionToken();
    } catch (err) {
      // The portal's own failure (no token): not the relay's, so not retried.
      sock.close();
      throw err;
    }
    this.checkAborted();
    const hello: P.Hello = { type: P.TypeHello, token };
    if (this.session) hello.resume = this.session;
    let msg: P.ServerMessage;
    try {
      sock.send(hello);
      msg = await sock.nextWithin(timeoutMs);
    } catch (err) {
      if (err instanceof VeilsignError) throw err;
      throw new VeilsignError("connection-lost", (err as Error).message ?? String(err), true);
    }
    if (msg.type === P.TypeWelcome) {
      this.session = msg.session;
      this.methods = msg.methods;
      return;
    }
    sock.close(); // refused: a later attempt opens a new connection
    if (msg.type === P.TypeError) throw new VeilsignError(msg.code, msg.message, msg.retryable);
    throw new VeilsignError("malformed-frame", `the relay sent ${msg.type} before welcome`);
  }

  /**
   * Opens the session, waiting for the relay as long as it takes: while it cannot be reached
   * (offline, relay down) or refuses for a while (its store unavailable, too many
   * connections: the errors it marks retryable), onWait is told and the connection is tried
   * again, backing off from 250 ms to 3 s, and at once when the browser fires "online". Only
   * the signal (abort, timeout) or a final refusal (a token it does not accept…) ends the wait.
   */
  async connectWhenReachable(onWait?: (attempt: number, cause: VeilsignError) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connect();
        return;
      } catch (err) {
        this.checkAborted();
        if (!(err instanceof VeilsignError) || !(err.code === "connection-lost" || err.retryable)) throw err;
        onWait?.(attempt, err);
        await this.pause(Math.min(250 * 2 ** Math.min(attempt - 1, 4), 3000), true);
      }
    }
  }

  private async sessionToken(): Promise<string> {
    if (this.token !== null) return this.token;
    const t = this.opts.token;
    const token = typeof t === "function" ? await t() : t;
    if (typeof token !== "string" || token === "") throw new VeilsignError("bad-argument", "The token function returned no token.");
    this.token = token;
    return token;
  }

  /** Asks for the signer's certificate chain (DER, leaf first). */
  async identify(method: string, signer: P.Signer): Promise<Uint8Array[]> {
    const s: P.Signer = { name: signer.name };
    if (signer.email) s.email = signer.email;
    if (signer.capacity) s.capacity = signer.capacity;
    if (signer.phone) s.phone = signer.phone;
    const req: P.Identify = { type: P.TypeIdentify, method, signer: s };
    return this.exchange(req, (m) => (m.type === P.TypeCertificate ? m.chain.map(fromBase64) : undefined), false);
  }

  /** Asks for the CMS over digest, and acknowledges it once received. */
  async sign(digest: Uint8Array, hashAlgorithm: P.HashAlgorithm, label: string, level?: string): Promise<{ cms: Uint8Array; level: string }> {
    const d64 = toBase64(digest);
    const req: P.Sign = { type: P.TypeSign, digest: d64, hashAlgorithm, label };
    if (level) req.level = level;
    const match = (m: P.ServerMessage) => (m.type === P.TypeSignature && m.digest === d64 ? m : undefined);
    let got: P.Signature;
    for (let attempt = 0; ; attempt++) {
      try {
        got = await this.exchange(req, match, true);
        break;
      } catch (err) {
        // The signature is stored on the relay; the same digest again retries the timestamp only.
        const tsa = err instanceof VeilsignError && err.code === P.CodeTSAUnavailable;
        if (!tsa || attempt >= (this.opts.tsaRetries ?? 2)) throw err;
        await this.pause(500 * (attempt + 1));
      }
    }
    const ack: P.Ack = { type: P.TypeAck, digest: d64 };
    try {
      this.sock?.send(ack);
    } catch {
      // Best effort: without the ack a resumed session gets the same CMS again, harmlessly.
    }
    return { cms: fromBase64(got.cms), level: got.level };
  }

  /**
   * Asks for the revocation data (OCSP responses, CRLs, certificates; DER) of a chain,
   * leaf first, for the document's DSS. The request is repeated after a reconnection.
   */
  async validationData(chain: Uint8Array[]): Promise<{ ocsp: Uint8Array[]; crl: Uint8Array[]; certs: Uint8Array[] }> {
    const req: P.ValidationData = { type: P.TypeValidationData, chain: chain.slice(0, P.MaxChain).map(toBase64) };
    const got = await this.exchange(req, (m) => (m.type === P.TypeValidationDataResult ? m : undefined), true);
    const list = (v: string[] | undefined) => (v ?? []).map(fromBase64);
    return { ocsp: list(got.ocsp), crl: list(got.crl), certs: list(got.certs) };
  }

  /** Asks the relay's TSA for an RFC 3161 TimeStampToken (DER) over digest: a document time-stamp. */
  async timestamp(digest: Uint8Array, hashAlgorithm: P.HashAlgorithm): Promise<Uint8Array> {
    const d64 = toBase64(digest);
    const req: P.Timestamp = { type: P.TypeTimestamp, digest: d64, hashAlgorithm };
    const got = await this.exchange(req, (m) => (m.type === P.TypeTimestampToken && m.digest === d64 ? m : undefined), true);
    return fromBase64(got.token);
  }

  /** Ends the connection; the session stays on the relay until it expires. */
  close(): void {
    this.sock?.close();
    this.sock = null;
  }

  /** Closes the socket abruptly, as a network failure would (for tests). */
  drop(): void {
    this.sock?.close();
  }

  private write(msg: P.ClientMessage): void {
    if (!this.sock) throw new ConnectionLost("not connected");
    this.sock.send(msg);
  }

  /**
   * Sends req and reads until done returns a value. On a dropped socket it reconnects with
   * resume and, when resend is set, sends req again (same digest: the relay answers from
   * its store). Statuses go to onStatus; an otp-sent status asks opts.otp for the code.
   */
  private async exchange<T>(req: P.ClientMessage, done: (m: P.ServerMessage) => T | undefined, resend: boolean): Promise<T> {
    try {
      this.write(req);
    } catch (err) {
      if (!(err instanceof ConnectionLost)) throw err;
      await this.reconnect(err);
      this.write(req);
    }
    for (;;) {
      let msg: P.ServerMessage;
      try {
        msg = await this.sock!.next();
      } catch (err) {
        this.checkAborted();
        await this.reconnect(err);
        if (resend) this.write(req);
        continue;
      }
      if (msg.type === P.TypeStatus) {
        await this.status(msg);
        continue;
      }
      if (msg.type === P.TypeError) throw new VeilsignError(msg.code, msg.message, msg.retryable);
      const v = done(msg);
      if (v !== undefined) return v;
    }
  }

  private async status(msg: P.Status): Promise<void> {
    this.opts.onStatus?.(msg);
    if (msg.url && !this.opened.has(msg.url)) {
      this.opened.add(msg.url);
      this.opts.openURL?.(msg.url);
    }
    if (msg.state === P.StateOTPSent && this.opts.otp) {
      const code = await this.opts.otp();
      this.checkAborted();
      const otp: P.OTP = { type: P.TypeOTP, code: String(code).trim() };
      this.write(otp);
    }
  }

  private async reconnect(cause: unknown): Promise<void> {
    let last: unknown = cause;
    const retries = this.opts.retries ?? 8;
    for (let i = 0; i < retries; i++) {
      this.checkAborted();
      try {
        await this.connect();
        return;
      } catch (err) {
        last = err;
        // The relay refused the session (expired token, unknown session): retrying cannot help.
        if (err instanceof VeilsignError && err.code !== "connection-lost" && !err.retryable) throw err;
      }
      await this.pause(Math.min(100 * 2 ** Math.min(i, 5), 2000));
    }
    const why = last instanceof Error ? last.message : String(last);
    throw new VeilsignError("connection-lost", `The connection to the relay was lost and could not be resumed: ${why}`, true);
  }

  /** Waits ms, or less on abort; when online is set, also ends when the browser comes back online. */
  private pause(ms: number, online = false): Promise<void> {
    const g = globalThis as { addEventListener?: EventTarget["addEventListener"]; removeEventListener?: EventTarget["removeEventListener"] };
    const watch = online && typeof g.addEventListener === "function" && typeof g.removeEventListener === "function";
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.opts.signal?.removeEventListener("abort", done);
        if (watch) g.removeEventListener!("online", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.opts.signal?.addEventListener("abort", done, { once: true });
      if (watch) g.addEventListener!("online", done);
    });
  }

  private checkAborted(): void {
    const s = this.opts.signal;
    if (s?.aborted) {
      const r = s.reason as { name?: string } | undefined;
      if (r?.name === "TimeoutError") throw new VeilsignError("timeout", "The signature was not completed in time.");
      throw new VeilsignError("aborted", "Signing was cancelled.");
    }
  }
}

export function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
