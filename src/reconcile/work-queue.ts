import { backoffDelay } from '../cluster/backoff.ts';

/** One key taken from the queue, with the earliest Service-change receipt time that is waiting on it. */
export interface WorkItem {
  key: string;
  /** `Date.now()` when the watch event that made this key due arrived; undefined for other causes. */
  changeReceivedAt: number | undefined;
}

/** What became of an item: `done` forgets its failures, `retry` backs off exponentially, `after` looks again later. */
export type WorkOutcome = { kind: 'done' } | { kind: 'retry' } | { kind: 'after'; delayMs: number };

export interface WorkQueueOptions {
  handle(item: WorkItem): Promise<WorkOutcome>;
  concurrency?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A de-duplicating queue of object keys, like client-go's workqueue: a key is queued once however often it is
 * added, handled by one worker at a time (added again while in hand: handled once more afterwards), and
 * retried with per-key exponential backoff. Runs only between `start` and `pause`: keys wait meanwhile.
 */
export class WorkQueue {
  readonly #handle: (item: WorkItem) => Promise<WorkOutcome>;
  readonly #concurrency: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #ready: string[] = [];
  readonly #readySet = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #inHand = new Set<string>();
  readonly #addedWhileInHand = new Set<string>();
  readonly #changeReceivedAt = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  #running = false;
  #idle: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.#handle = options.handle;
    this.#concurrency = options.concurrency ?? 4;
    this.#initialBackoffMs = options.initialBackoffMs ?? 200;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  /** Queues `key` now (or after `delayMs`; an earlier add wins). */
  add(key: string, options: { delayMs?: number; changeReceivedAt?: number } = {}): void {
    if (options.changeReceivedAt !== undefined) {
      const earlier = this.#changeReceivedAt.get(key);
      this.#changeReceivedAt.set(key, earlier === undefined ? options.changeReceivedAt : Math.min(earlier, options.changeReceivedAt));
    }
    const delayMs = options.delayMs ?? 0;
    if (this.#inHand.has(key)) {
      if (delayMs <= 0) this.#addedWhileInHand.add(key);
      else this.#schedule(key, delayMs);
      return;
    }
    if (this.#readySet.has(key)) return;
    if (delayMs > 0) return this.#schedule(key, delayMs);
    this.#clearDelay(key);
    this.#ready.push(key);
    this.#readySet.add(key);
    this.#pump();
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops handing out keys; resolves once the items in hand are finished. Queued keys stay queued. */
  async pause(): Promise<void> {
    this.#running = false;
    await this.whenIdle();
  }

  /** Drops every queued key and timer (keys in hand finish). */
  clear(): void {
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#ready.length = 0;
    this.#readySet.clear();
    this.#changeReceivedAt.clear();
  }

  /** Resolves when no item is in hand (queued or delayed keys may remain). */
  whenIdle(): Promise<void> {
    if (this.#inHand.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  get length(): number {
    return this.#readySet.size + this.#delayed.size;
  }

  failuresOf(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  #schedule(key: string, delayMs: number): void {
    const at = Date.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  #clearDelay(key: string): void {
    const existing = this.#delayed.get(key);
    if (existing === undefined) return;
    clearTimeout(existing.timer);
    this.#delayed.delete(key);
  }

  #pump(): void {
    while (this.#running && this.#inHand.size < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift() as string;
      this.#readySet.delete(key);
      this.#inHand.add(key);
      const changeReceivedAt = this.#changeReceivedAt.get(key);
      this.#changeReceivedAt.delete(key);
      void this.#work({ key, changeReceivedAt });
    }
  }

  async #work(item: WorkItem): Promise<void> {
    let outcome: WorkOutcome;
    try {
      outcome = await this.#handle(item);
    } catch {
      outcome = { kind: 'retry' };
    }
    const { key } = item;
    this.#inHand.delete(key);
    // A retry keeps the original change time, so the latency measured includes the retries.
    const keep = { changeReceivedAt: item.changeReceivedAt };
    if (outcome.kind === 'done') this.#failures.delete(key);
    if (this.#addedWhileInHand.delete(key)) this.add(key, keep);
    else if (outcome.kind === 'retry') {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.add(key, { ...keep, delayMs: backoffDelay(failures, this.#initialBackoffMs, this.#maxBackoffMs) });
    } else if (outcome.kind === 'after') this.add(key, { ...keep, delayMs: outcome.delayMs });
    if (this.#inHand.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}
