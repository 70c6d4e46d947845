import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { isObject } from '../json-value.ts';
import { apiErrorMessage, apiStatus } from './api-error.ts';
import { backoffDelay } from './backoff.ts';
import { InterruptibleSleep } from './interruptible-sleep.ts';
import type { WatchRestartCause } from './watch-restart-cause.ts';

/** One page of a LIST, as the API returns it. */
export interface ListPage {
  items: unknown[];
  metadata?: { _continue?: string; resourceVersion?: string };
}

/** One watch event, as applied to the store. */
export interface ResourceChange<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  /** The event's object, reduced; for DELETED its last state, which the store no longer holds. */
  record: T;
  /** What the store held under `key` before the event. */
  previous: T | undefined;
  receivedAt: number;
}

/** What the list+watch reports while it keeps the store current; failures are retried, never thrown. */
export type ResourceListWatchEvent =
  /** A full list completed: the first one (`initial`) or one after a 410 Gone. */
  | { type: 'synced'; initial: boolean; items: number; resourceVersion: string }
  /**
   * A watch is working: it delivered an event, or stayed open for a second (a 200 whose stream then fails at once, as
   * an API server whose cache is behind does, is no answer); for a custom resource whose CRD is not installed, a 404.
   * The cache is current again after any failure.
   */
  | { type: 'answered'; resourceVersion: string }
  | { type: 'watch-restart'; cause: WatchRestartCause; reason: string; resourceVersion: string }
  | { type: 'relist'; reason: string }
  | { type: 'error'; error: Error; retryInMs: number };

export interface ResourceListWatchOptions<T> {
  kubeConfig: KubeConfig;
  /** What is watched: `/apis/networking.istio.io/v1alpha3/envoyfilters`. */
  path: string;
  /** What is listed, as messages name it: `listing Services failed: ...`. */
  what: string;
  /** One LIST page; `signal` aborts it on stop or when the page timeout passes. */
  listPage(page: { limit: number; _continue: string | undefined }, signal: AbortSignal): Promise<ListPage>;
  /** What to keep of an object (never the whole object); undefined: not kept. */
  reduce(object: unknown): T | undefined;
  /** `namespace/name` of a record. */
  keyOf(record: T): string;
  /** After a watch event changed the store. */
  onChange?: (change: ResourceChange<T>) => void;
  /** After each full list replaced the store (the first, and after 410 Gone). */
  onResync?: () => void;
  onEvent?: (event: ResourceListWatchEvent) => void;
  pageSize?: number;
  /** How long one LIST page may take before it is abandoned and retried (default 30 s). */
  listPageTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A watch that delivered nothing and ended sooner than this counts as a failure, so a server closing at once cannot make us spin. */
const HEALTHY_WATCH_MS = 1_000;

interface WatchOutcome {
  end: 'closed' | 'idle-timeout' | 'gone' | 'failed';
  error?: Error;
  healthy: boolean;
}

/**
 * List+watch of one resource across all namespaces into a store of reduced records: resumes a watch from the
 * last resourceVersion seen, relists on 410 Gone, and retries every failure with backoff until stopped.
 * client-node's informer is not used: its cache holds whole objects.
 */
export class ResourceListWatch<T> {
  readonly #options: ResourceListWatchOptions<T>;
  readonly #watch: Watch;
  readonly #pageSize: number;
  readonly #listPageTimeoutMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  #records = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #stopping = false;
  #running: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #resolveStarted: (() => void) | undefined;
  #abort: AbortController | undefined;
  #cancelWatch: (() => void) | undefined;
  readonly #pause = new InterruptibleSleep();

  constructor(options: ResourceListWatchOptions<T>) {
    this.#options = options;
    this.#watch = new Watch(options.kubeConfig);
    this.#pageSize = options.pageSize ?? 500;
    this.#listPageTimeoutMs = options.listPageTimeoutMs ?? 30_000;
    this.#initialBackoffMs = options.initialBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  /** Starts list+watch; resolves once the first list is stored (or when stopped first). Calling it again returns the same promise. */
  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started;
    this.#started = new Promise((resolve) => (this.#resolveStarted = resolve));
    this.#running = this.#run();
    return this.#started;
  }

  /** Aborts the list or watch in flight and any retry wait; resolves when nothing is left running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort?.abort();
    this.#cancelWatch?.();
    this.#pause.interrupt();
    this.#resolveStarted?.();
    await this.#running;
  }

  ready(): boolean {
    return this.#synced;
  }

  get(key: string): T | undefined {
    return this.#records.get(key);
  }

  values(): IterableIterator<T> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }

  /** Of the last list or watch event; the next watch resumes from it. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Stores what a GET or a PATCH answered, ahead of its watch event (which stores the same again). */
  refresh(object: unknown): T | undefined {
    const record = this.#options.reduce(object);
    if (record !== undefined) this.#records.set(this.#options.keyOf(record), record);
    return record;
  }

  forget(key: string): void {
    this.#records.delete(key);
  }

  async #run(): Promise<void> {
    let needsList = true;
    let failures = 0;
    while (!this.#stopping) {
      let delayMs = 0;
      if (needsList) {
        try {
          await this.#list();
          needsList = false;
          failures = 0;
        } catch (error) {
          if (this.#stopping) break;
          delayMs = backoffDelay(++failures, this.#initialBackoffMs, this.#maxBackoffMs);
          this.#emit({ type: 'error', error: new Error(`listing ${this.#options.what} failed: ${apiErrorMessage(error)}`, { cause: error }), retryInMs: delayMs });
        }
      } else {
        const outcome = await this.#watchOnce();
        if (this.#stopping) break;
        if (outcome.healthy) failures = 0;
        else delayMs = backoffDelay(++failures, this.#initialBackoffMs, this.#maxBackoffMs);
        if (outcome.end === 'gone') {
          needsList = true;
          this.#emit({ type: 'relist', reason: `resourceVersion ${this.#resourceVersion} is too old for a watch (410 Gone)` });
        } else {
          if (outcome.error !== undefined) this.#emit({ type: 'error', error: outcome.error, retryInMs: delayMs });
          this.#emit({ type: 'watch-restart', cause: restartCause(outcome), reason: restartReason(outcome), resourceVersion: this.#resourceVersion });
        }
      }
      if (delayMs > 0) await this.#pause.sleep(delayMs);
    }
    this.#resolveStarted?.();
  }

  /** Lists page by page, then swaps the store in one step so readers see the old records meanwhile. */
  async #list(): Promise<void> {
    this.#abort = new AbortController();
    const records = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        // A server that accepts the connection and never answers must not hold the first sync (and readiness) forever.
        const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#listPageTimeoutMs)]);
        const page = await this.#options.listPage({ limit: this.#pageSize, _continue: continueToken }, signal);
        for (const item of page.items) {
          const record = this.#options.reduce(item);
          if (record !== undefined) records.set(this.#options.keyOf(record), record);
        }
        continueToken = page.metadata?._continue || undefined;
        resourceVersion = page.metadata?.resourceVersion ?? '';
      } while (continueToken !== undefined);
    } finally {
      this.#abort = undefined;
    }
    if (this.#stopping) return;
    this.#records = records;
    this.#resourceVersion = resourceVersion;
    const initial = !this.#synced;
    this.#synced = true;
    this.#emit({ type: 'synced', initial, items: records.size, resourceVersion });
    this.#options.onResync?.();
    if (initial) this.#resolveStarted?.();
  }

  /** One watch request from the current resourceVersion, applied to the store until it ends; never rejects. */
  #watchOnce(): Promise<WatchOutcome> {
    return new Promise((resolve) => {
      const startedAt = Date.now();
      let delivered = false;
      let settled = false;
      let controller: AbortController | undefined;
      let working: NodeJS.Timeout | undefined;
      const answer = (): void => {
        clearTimeout(working);
        working = undefined;
        if (!settled && !delivered) this.#emit({ type: 'answered', resourceVersion: this.#resourceVersion });
      };
      const finish = (end: WatchOutcome['end'], error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(working);
        this.#cancelWatch = undefined;
        controller?.abort();
        resolve({ end, error, healthy: delivered || Date.now() - startedAt >= HEALTHY_WATCH_MS });
      };
      this.#cancelWatch = () => finish('closed');
      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        if (type === 'ERROR') {
          const status = isObject(object) ? object : {};
          if (status.code === 410) finish('gone');
          else finish('failed', new Error(`watching ${this.#options.what} failed: watch error event: ${String(status.message ?? JSON.stringify(object))} (code ${String(status.code)})`));
          return;
        }
        answer();
        delivered = true;
        const resourceVersion = isObject(object) && isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof resourceVersion === 'string' && resourceVersion !== '') this.#resourceVersion = resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.#apply(type, object);
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish('closed');
        else if (apiStatus(error) === 410) finish('gone');
        else if (error instanceof Error && error.name === 'TimeoutError') finish('idle-timeout');
        else finish('failed', this.#watchFailure(error));
      };
      this.#watch.watch(this.#options.path, { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true }, onEvent, onDone).then(
        (watchController) => {
          controller = watchController;
          // watch() hands out its AbortController only once the response headers arrived; stop() may have come first.
          if (settled) watchController.abort();
          else working = setTimeout(answer, HEALTHY_WATCH_MS);
        },
        (error: unknown) => finish('failed', this.#watchFailure(error)),
      );
    });
  }

  #apply(type: ResourceChange<T>['type'], object: unknown): void {
    const receivedAt = Date.now();
    const record = this.#options.reduce(object);
    if (record === undefined) return;
    const key = this.#options.keyOf(record);
    const previous = this.#records.get(key);
    if (type === 'DELETED') this.#records.delete(key);
    else this.#records.set(key, record);
    this.#options.onChange?.({ type, key, record, previous, receivedAt });
  }

  /** A watch the server refuses rejects with a bare Error of the status text ("Internal Server Error") carrying its statusCode. */
  #watchFailure(error: unknown): Error {
    const status = apiStatus(error);
    const detail = status === undefined ? apiErrorMessage(error) : `HTTP ${status} ${(error as Error).message}`;
    return new Error(`watching ${this.#options.what} failed: ${detail}`, { cause: error });
  }

  #emit(event: ResourceListWatchEvent): void {
    this.#options.onEvent?.(event);
  }
}

function restartCause(outcome: WatchOutcome): WatchRestartCause {
  if (outcome.end === 'closed') return 'ended';
  return outcome.end === 'idle-timeout' ? 'idle' : 'failed';
}

function restartReason(outcome: WatchOutcome): string {
  switch (outcome.end) {
    case 'closed':
      return 'the API server ended the watch';
    case 'idle-timeout':
      return 'the watch was idle for 30 s and client-node closed it';
    default:
      // Every failure's message already says `watching <what> failed: ...`.
      return outcome.error?.message ?? 'the watch failed';
  }
}
