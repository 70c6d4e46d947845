import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { isObject } from '../json-value.ts';
import { apiErrorMessage, apiStatus } from './api-error.ts';
import { backoffDelay } from './informer-resolver.ts';
import { InterruptibleSleep } from './interruptible-sleep.ts';

/** One page of a LIST, as the API returns it. */
export interface ListPage {
  items: unknown[];
  metadata?: { _continue?: string; resourceVersion?: string };
}

export type ResourceChange<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; key: string; record: T | undefined; receivedAt: number };

export type ResourceListWatchEvent =
  | { type: 'synced'; initial: boolean; items: number }
  | { type: 'watch-restart'; reason: string }
  | { type: 'relist'; reason: string }
  | { type: 'error'; message: string; retryInMs: number };

export interface ResourceListWatchOptions<T> {
  kubeConfig: KubeConfig;
  /** What is listed and watched, for messages and the watch: `/apis/networking.istio.io/v1alpha3/envoyfilters`. */
  path: string;
  /** One LIST page; `signal` aborts it on stop. */
  listPage(page: { limit: number; _continue: string | undefined }, signal: AbortSignal): Promise<ListPage>;
  /** What to keep of an object (never the whole object); undefined: not kept. */
  reduce(object: unknown): T | undefined;
  /** `namespace/name` of a record. */
  keyOf(record: T): string;
  /** After a watch event changed the store (DELETED: `record` is undefined). */
  onChange?: (change: ResourceChange<T>) => void;
  /** After each full list replaced the store (the first, and after 410 Gone). */
  onResync?: () => void;
  onEvent?: (event: ResourceListWatchEvent) => void;
  pageSize?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

const HEALTHY_WATCH_MS = 1_000;

/**
 * List+watch of one resource across all namespaces into a store of reduced records, with the same resume,
 * backoff and 410-relist behaviour as the Service cache (InformerServiceResolver).
 */
export class ResourceListWatch<T> {
  readonly #options: ResourceListWatchOptions<T>;
  readonly #watch: Watch;
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
  }

  /** Starts list+watch; resolves once the first list is stored (or when stopped first). */
  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started;
    this.#started = new Promise((resolve) => (this.#resolveStarted = resolve));
    this.#running = this.#run();
    return this.#started;
  }

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
    const initialBackoffMs = this.#options.initialBackoffMs ?? 250;
    const maxBackoffMs = this.#options.maxBackoffMs ?? 30_000;
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
          delayMs = backoffDelay(++failures, initialBackoffMs, maxBackoffMs);
          this.#emit({ type: 'error', message: `listing ${this.#options.path} failed: ${apiErrorMessage(error)}`, retryInMs: delayMs });
        }
      } else {
        const outcome = await this.#watchOnce();
        if (this.#stopping) break;
        if (outcome.healthy) failures = 0;
        else delayMs = backoffDelay(++failures, initialBackoffMs, maxBackoffMs);
        if (outcome.end === 'gone') {
          needsList = true;
          this.#emit({ type: 'relist', reason: `resourceVersion ${this.#resourceVersion} is too old for a watch (410 Gone)` });
        } else {
          if (outcome.error !== undefined) this.#emit({ type: 'error', message: outcome.error, retryInMs: delayMs });
          this.#emit({ type: 'watch-restart', reason: outcome.error ?? outcome.end });
        }
      }
      if (delayMs > 0) await this.#sleep(delayMs);
    }
    this.#resolveStarted?.();
  }

  async #list(): Promise<void> {
    this.#abort = new AbortController();
    const records = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page = await this.#options.listPage({ limit: this.#options.pageSize ?? 500, _continue: continueToken }, this.#abort.signal);
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
    this.#emit({ type: 'synced', initial, items: records.size });
    this.#options.onResync?.();
    if (initial) this.#resolveStarted?.();
  }

  #watchOnce(): Promise<{ end: 'closed' | 'idle-timeout' | 'gone' | 'failed'; error?: string; healthy: boolean }> {
    return new Promise((resolve) => {
      const startedAt = Date.now();
      let delivered = false;
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (end: 'closed' | 'idle-timeout' | 'gone' | 'failed', error?: string): void => {
        if (settled) return;
        settled = true;
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
          else finish('failed', `watch error event: ${String(status.message ?? JSON.stringify(object))} (code ${String(status.code)})`);
          return;
        }
        delivered = true;
        const resourceVersion = isObject(object) && isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof resourceVersion === 'string' && resourceVersion !== '') this.#resourceVersion = resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.#apply(type, object);
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish('closed');
        else if (apiStatus(error) === 410) finish('gone');
        else if (error instanceof Error && error.name === 'TimeoutError') finish('idle-timeout');
        else finish('failed', `watching ${this.#options.path} failed: ${apiErrorMessage(error)}`);
      };
      this.#watch.watch(this.#options.path, { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true }, onEvent, onDone).then(
        (watchController) => {
          controller = watchController;
          if (settled) watchController.abort();
        },
        (error: unknown) => finish('failed', `watching ${this.#options.path} failed: ${apiErrorMessage(error)}`),
      );
    });
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void {
    const receivedAt = Date.now();
    const record = this.#options.reduce(object);
    if (record === undefined) return;
    const key = this.#options.keyOf(record);
    if (type === 'DELETED') this.#records.delete(key);
    else this.#records.set(key, record);
    this.#options.onChange?.({ type, key, record: type === 'DELETED' ? undefined : record, receivedAt });
  }

  #sleep(ms: number): Promise<void> {
    return this.#pause.sleep(ms);
  }

  #emit(event: ResourceListWatchEvent): void {
    this.#options.onEvent?.(event);
  }
}
