import type { ErrorCode } from "./types.js";

/**
 * Every error the package throws. code is stable (pages branch on it, never on the
 * wording); retryable is set for relay errors that the same request may get past later.
 */
export class VeilsignError extends Error {
  readonly code: ErrorCode | string;
  readonly retryable: boolean;
  /**
   * Set when the signature was made but a later step failed (extending to B-LT/B-LTA):
   * the signed document as far as it got, so nothing the signer approved is lost.
   */
  signedBytes?: Uint8Array;

  constructor(code: ErrorCode | string, message: string, retryable = false) {
    super(message);
    this.name = "VeilsignError";
    this.code = code;
    this.retryable = retryable;
  }
}

/** The plain form in which an error crosses postMessage: custom properties of an Error would be dropped. */
export interface WireError {
  code: string;
  message: string;
  retryable?: boolean;
}

export function toWire(err: unknown): WireError {
  if (err && typeof err === "object" && "message" in err) {
    const e = err as { code?: unknown; message: unknown; retryable?: unknown };
    return {
      code: typeof e.code === "string" && e.code !== "" ? e.code : "internal",
      message: String(e.message),
      retryable: e.retryable === true,
    };
  }
  return { code: "internal", message: String(err) };
}

export function fromWire(w: WireError): VeilsignError {
  return new VeilsignError(w.code, w.message, w.retryable === true);
}
