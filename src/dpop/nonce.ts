import { createHmac, timingSafeEqual } from 'node:crypto';

/** The shortest nonce key accepted: an HMAC-SHA256 key shorter than its output weakens it (RFC 2104 §3). */
export const MIN_NONCE_KEY_BYTES = 32;

/**
 * RFC 9449 §8: server-provided nonces, stateless. A nonce is `step.mac`: the time step (Unix time / stepSeconds) and
 * an HMAC-SHA256 over it with a key from a file. Any pod holding the key can issue and check one, so nonces need no
 * shared state. A nonce is accepted during its own step and the next one, so it lives from stepSeconds to twice that;
 * a client keeps using the one it has until a 401 hands it a new one (§8.2).
 */
export class NonceIssuer {
  readonly #key: Buffer;
  readonly #stepMs: number;
  /** The nonce of the current step, computed once per step rather than on every denial. */
  #current: { step: number; nonce: string } | undefined;

  constructor(key: Buffer, stepSeconds: number) {
    if (key.length < MIN_NONCE_KEY_BYTES) throw new Error(`the nonce key needs at least ${MIN_NONCE_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.#stepMs = stepSeconds * 1000;
  }

  /** The nonce to hand out now (the `DPoP-Nonce` header). */
  issue(nowMs: number): string {
    const step = Math.floor(nowMs / this.#stepMs);
    if (this.#current?.step !== step) this.#current = { step, nonce: `${step.toString(36)}.${this.#mac(step)}` };
    return this.#current.nonce;
  }

  /** Whether `nonce` is one we issued in this step or the previous one. */
  accepts(nonce: unknown, nowMs: number): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const dot = nonce.indexOf('.');
    if (dot < 1) return false;
    const stepText = nonce.slice(0, dot);
    if (!/^[0-9a-z]{1,11}$/.test(stepText)) return false;
    const step = parseInt(stepText, 36);
    const now = Math.floor(nowMs / this.#stepMs);
    if (step !== now && step !== now - 1) return false;
    // A canonical step only: `0a` and `a` must not both be accepted for one step (one nonce, one string).
    if (step.toString(36) !== stepText) return false;
    const given = Buffer.from(nonce.slice(dot + 1));
    const expected = Buffer.from(this.#mac(step));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #mac(step: number): string {
    return createHmac('sha256', this.#key).update(`tokengate dpop nonce ${step}`).digest('base64url');
  }
}
