// The relay's wire protocol (GET /v1/sign): JSON text frames, each an object with a
// "type". This file mirrors relay/protocol/protocol.go, which is the one definition;
// wasm/protocol_ts_test.go reads this file and fails when a message, a field, its
// optionality or a constant differs from the Go types. Change both together.

/** The protocol version; the websocket path is /v1/sign. */
export const Version = 1;

/** The largest frame the relay accepts from a client. */
export const MaxFrame = 4 << 10;

/** The largest frame the relay sends (a chain, or a CMS with its timestamp token). */
export const MaxServerFrame = 256 << 10;

/** The largest client frame carrying a certificate chain (validation-data). */
export const MaxChainFrame = 32 << 10;

/** The most certificates a validation-data request may name. */
export const MaxChain = 10;

/** Message types. */
export const TypeHello = "hello";
export const TypeWelcome = "welcome";
export const TypeIdentify = "identify";
export const TypeCertificate = "certificate";
export const TypeSign = "sign";
export const TypeStatus = "status";
export const TypeSignature = "signature";
export const TypeOTP = "otp";
export const TypeAck = "ack";
export const TypeError = "error";
export const TypeValidationData = "validation-data";
export const TypeValidationDataResult = "validation-data-result";
export const TypeTimestamp = "timestamp";
export const TypeTimestampToken = "timestamp-token";

/** States of a status message. */
export const StateAwaitingConsent = "awaiting-consent";
export const StateAwaitingApproval = "awaiting-approval";
export const StateOTPSent = "otp-sent";
export const StateSigning = "signing";
export const StateTimestamping = "timestamping";

export type State =
  | typeof StateAwaitingConsent
  | typeof StateAwaitingApproval
  | typeof StateOTPSent
  | typeof StateSigning
  | typeof StateTimestamping;

/** Hello opens a session, or resumes one after a dropped socket. */
export interface Hello {
  type: "hello";
  token: string;
  /** The session id of a welcome received earlier. */
  resume?: string;
}

/** Welcome answers hello. */
export interface Welcome {
  type: "welcome";
  version: number;
  session: string;
  methods: string[];
  hashAlgorithms: string[];
  /** True when the session existed; pending results follow. */
  resumed?: boolean;
}

/** Signer is who signs, as the portal's page knows them. */
export interface Signer {
  name: string;
  email?: string;
  capacity?: string;
  /** TAN: where the code goes, in international form (+32…). */
  phone?: string;
}

/** Identify asks for the certificate chain the signature will be made with. */
export interface Identify {
  type: "identify";
  method: string;
  signer: Signer;
}

/** Certificate answers identify: base64 DER certificates, leaf first. */
export interface Certificate {
  type: "certificate";
  chain: string[];
}

/** Sign asks for a signature over digest; the same digest again returns the same CMS. */
export interface Sign {
  type: "sign";
  /** Standard base64. */
  digest: string;
  hashAlgorithm: string;
  /** Shown to the signer, e.g. "Contract 2026-114". */
  label: string;
  /** "B-T" (default, with a timestamp) or "B-B". */
  level?: string;
}

/** Status reports progress; url is set when the signer must open a page. */
export interface Status {
  type: "status";
  state: string;
  url?: string;
  message?: string;
}

/** Signature delivers the CMS for a digest. */
export interface Signature {
  type: "signature";
  /** The digest it signs, so that a client can match it. */
  digest: string;
  /** Standard base64 DER. */
  cms: string;
  level: string;
}

/** OTP answers an otp-sent status with the code the signer received. */
export interface OTP {
  type: "otp";
  code: string;
}

/** Ack confirms that a signature was received; until then a resumed session gets it again. */
export interface Ack {
  type: "ack";
  digest: string;
}

/**
 * ValidationData asks for the revocation data (OCSP, CRLs) of a chain, base64 DER leaf
 * first, for the document's DSS (B-LT). Only chains to a root the relay trusts are served.
 */
export interface ValidationData {
  type: "validation-data";
  chain: string[];
}

/** ValidationDataResult answers validation-data: base64 DER OCSP responses, CRLs and certificates. */
export interface ValidationDataResult {
  type: "validation-data-result";
  ocsp: string[];
  crl: string[];
  certs: string[];
}

/** Timestamp asks the relay's TSA for a token over digest (a document time-stamp, B-LTA). */
export interface Timestamp {
  type: "timestamp";
  /** Standard base64. */
  digest: string;
  hashAlgorithm: string;
}

/** TimestampToken answers timestamp: the RFC 3161 TimeStampToken, base64 DER. */
export interface TimestampToken {
  type: "timestamp-token";
  digest: string;
  token: string;
}

/** Error reports a refusal or a failure; retryable says whether the same request may succeed later. */
export interface Error {
  type: "error";
  code: string;
  message: string;
  retryable: boolean;
}

/** Error codes. */
export const CodeFrameTooLarge = "frame-too-large";
export const CodeMalformed = "malformed-frame";
export const CodeUnknownType = "unknown-type";
export const CodeUnknownField = "unknown-field";
export const CodeBadRequest = "bad-request";
export const CodeBadDigest = "bad-digest";
export const CodeUnauthorized = "unauthorized";
export const CodeForbidden = "forbidden";
export const CodeRateLimited = "rate-limited";
export const CodeOutOfOrder = "out-of-order";
export const CodeLimitReached = "limit-reached";
export const CodeUnknownSession = "unknown-session";
export const CodeSignerFailed = "signer-failed";
export const CodeSignerTimeout = "signer-timeout";
export const CodeSignerRefused = "signer-refused";
export const CodeTSAUnavailable = "tsa-unavailable";
export const CodeWrongOTP = "wrong-otp";
export const CodeOTPExpired = "otp-expired";
export const CodeUnavailable = "unavailable";
export const CodeInternal = "internal";
export const CodeMethodNotOffered = "method-not-offered";
export const CodeUntrustedChain = "untrusted-chain";
export const CodeValidationUnavailable = "validation-unavailable";

/** Hash algorithms by name, with their digest sizes. */
export const HashSizes = { sha256: 32, sha384: 48, sha512: 64 } as const;

export type HashAlgorithm = keyof typeof HashSizes;

/** Methods the protocol knows. */
export const Methods = ["itsme", "eid", "x509", "pen", "tan"] as const;

/** What a client sends. */
export type ClientMessage = Hello | Identify | Sign | OTP | Ack | ValidationData | Timestamp;

/** What the relay sends. */
export type ServerMessage = Welcome | Certificate | Status | Signature | Error | ValidationDataResult | TimestampToken;

const serverTypes = new Set<string>([TypeWelcome, TypeCertificate, TypeStatus, TypeSignature, TypeError, TypeValidationDataResult, TypeTimestampToken]);

/**
 * decodeServer reads one frame from the relay, as Go's DecodeServer does: bounded in size,
 * a JSON object of a known server type. The fields are trusted to the type checks of the
 * code that uses them.
 */
export function decodeServer(frame: string): ServerMessage {
  if (frame.length > MaxServerFrame) {
    throw new RangeError(`relay frame of ${frame.length} bytes is over the limit`);
  }
  const msg: unknown = JSON.parse(frame);
  if (typeof msg !== "object" || msg === null || !serverTypes.has((msg as { type?: unknown }).type as string)) {
    // TypeError is the "error" message type here; the JavaScript one is on globalThis.
    throw new globalThis.TypeError("unknown relay message " + JSON.stringify((msg as { type?: unknown } | null)?.type ?? null).slice(0, 40));
  }
  return msg as ServerMessage;
}
