/**
 * At most one write per object per interval: whatever goes wrong (a second writer, a webhook that keeps
 * changing what we store), the reconciler cannot hammer one object.
 */
export class WriteRateLimit {
  readonly #intervalMs: number;
  readonly #lastWrite = new Map<string, number>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** How long to wait before `key` may be written again (0: now). */
  delayFor(key: string, now = Date.now()): number {
    const last = this.#lastWrite.get(key);
    return last === undefined ? 0 : Math.max(0, last + this.#intervalMs - now);
  }

  recordWrite(key: string, now = Date.now()): void {
    this.#lastWrite.set(key, now);
  }

  forget(key: string): void {
    this.#lastWrite.delete(key);
  }
}
