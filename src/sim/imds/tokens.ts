import { randomBytes } from 'node:crypto';

/** IMDS accepts a session TTL of 1 s to 6 h, written as a plain decimal integer. */
export const MAX_TTL_SECONDS = 21_600;
/**
 * Live tokens kept at most. Real IMDS tokens cost it nothing to hold; the simulator's must not grow with every PUT
 * (50,000 unexpired tokens took its RSS from 106 to 204 MB). Past the cap the oldest token is forgotten, and its
 * holder gets a 401 and asks for a new one, as the SDKs do when a token expires early.
 */
export const MAX_TOKENS = 1024;

/** `"60"` → 60; anything but 1–21600 in plain decimal (`1.0`, `0x10`, `1e3`, ` 60`, `060`) → undefined. */
export function parseTtl(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^[1-9]\d{0,4}$/.test(header)) return undefined;
  const ttl = Number(header);
  return ttl <= MAX_TTL_SECONDS ? ttl : undefined;
}

/** The session tokens of one IMDS: random, each valid until its expiry, expired ones dropped as new ones come. */
export class TokenStore {
  // Insertion order is issue order, so the first entry is the oldest.
  readonly #expiry = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get size(): number {
    return this.#expiry.size;
  }

  issue(ttlSeconds: number): string {
    const now = this.#now();
    for (const [token, expiry] of this.#expiry) if (expiry <= now) this.#expiry.delete(token);
    while (this.#expiry.size >= MAX_TOKENS) this.#expiry.delete(this.#expiry.keys().next().value!);
    const token = randomBytes(24).toString('base64url');
    this.#expiry.set(token, now + ttlSeconds * 1000);
    return token;
  }

  valid(token: string | string[] | undefined): boolean {
    if (typeof token !== 'string') return false;
    const expiry = this.#expiry.get(token);
    if (expiry === undefined) return false;
    if (expiry > this.#now()) return true;
    this.#expiry.delete(token);
    return false;
  }
}
