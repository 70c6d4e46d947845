import { ApiException, CoreV1Api, IsomorphicFetchHttpLibrary, KubeConfig, Watch, type HttpLibrary } from '@kubernetes/client-node';
import { isObject } from '../json-value.ts';
import { ServiceCache } from './service-cache.ts';
import { serviceChangeFor, type ServiceCacheChange } from './service-change.ts';
import { toServiceRecord, type ServiceLookup, type ServiceRecord, type ServiceResolver } from './service-resolver.ts';
import { InterruptibleSleep } from './interruptible-sleep.ts';

/** What the informer reports while it keeps the cache current; failures are retried, never thrown. */
export type InformerEvent =
  /** A full list completed: the first one (`initial`) or one after a 410 Gone. */
  | { type: 'synced'; initial: boolean; services: number; resourceVersion: string }
  | { type: 'watch-restart'; reason: string; resourceVersion: string }
  | { type: 'relist'; reason: string }
  | { type: 'error'; error: Error; retryInMs: number };

export interface InformerServiceResolverOptions {
  /** A kubeconfig file; absent: client-node's loadFromDefault (KUBECONFIG, ~/.kube/config, then the in-cluster service account). */
  kubeconfig?: string;
  /** An already loaded KubeConfig (takes precedence over `kubeconfig`). */
  kubeConfig?: KubeConfig;
  onEvent?: (event: InformerEvent) => void;
  /** Optional: told of every Service a watch event changes, and of every full relist (for the reconciler). */
  onServiceChange?: (change: ServiceCacheChange) => void;
  pageSize?: number;
  /** How long one LIST page may take before it is abandoned and retried (default 30 s). */
  listPageTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

const SERVICES_PATH = '/api/v1/services';
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_INITIAL_BACKOFF_MS = 250;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
const DEFAULT_LIST_PAGE_TIMEOUT_MS = 30_000;
/** A watch that delivered nothing and ended sooner than this counts as a failure, so a server closing at once cannot make us spin. */
const HEALTHY_WATCH_MS = 1_000;

interface WatchOutcome {
  end: 'closed' | 'idle-timeout' | 'gone' | 'failed';
  error?: Error;
  healthy: boolean;
}

/**
 * Keeps a cluster-wide cache of ServiceRecords by list+watch against the API server.
 * client-node's informer is not used: its cache holds whole Service objects, and ours holds only the fields we read.
 */
export class InformerServiceResolver implements ServiceResolver {
  readonly source: string;
  readonly #cache = new ServiceCache();
  readonly #api: CoreV1Api;
  readonly #watch: Watch;
  readonly #onEvent: (event: InformerEvent) => void;
  readonly #onServiceChange: ((change: ServiceCacheChange) => void) | undefined;
  readonly #pageSize: number;
  readonly #listPageTimeoutMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;

  #synced = false;
  #resourceVersion = '';
  #lastSyncTime: Date | undefined;
  #watchRestarts = 0;
  #lastError: Error | undefined;

  #running: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #resolveStarted: (() => void) | undefined;
  #stopping = false;
  #listAbort: AbortController | undefined;
  #cancelWatch: (() => void) | undefined;
  readonly #pause = new InterruptibleSleep();

  constructor(options: InformerServiceResolverOptions = {}) {
    const kubeConfig = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (server === undefined) throw new Error(`kubeconfig ${options.kubeconfig ?? '(default)'} has no current cluster`);
    this.source = `the Service cache of ${server}`;
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
    this.#watch = new Watch(kubeConfig);
    this.#onEvent = options.onEvent ?? (() => {});
    this.#onServiceChange = options.onServiceChange;
    this.#pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#listPageTimeoutMs = options.listPageTimeoutMs ?? DEFAULT_LIST_PAGE_TIMEOUT_MS;
    this.#initialBackoffMs = options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  }

  /** Starts list+watch; resolves once the first list is in the cache (or when stopped first). Calling it again returns the same promise. */
  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started;
    this.#started = new Promise((resolve) => (this.#resolveStarted = resolve));
    this.#running = this.#run();
    return this.#started;
  }

  /** Aborts the list or watch in flight and any retry timer; resolves when nothing is left running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#listAbort?.abort();
    this.#cancelWatch?.();
    this.#pause.interrupt();
    this.#resolveStarted?.();
    await this.#running;
  }

  lookup(namespace: string, name: string): ServiceLookup {
    if (!this.#synced) {
      const lastError = this.#lastError === undefined ? '' : ` (last error: ${this.#lastError.message})`;
      return {
        kind: 'unavailable',
        reason: `the Service cache has not finished its first list from the API server yet; this is temporary, retry shortly${lastError}`,
      };
    }
    const service = this.#cache.get(namespace, name);
    return service === undefined ? { kind: 'not-found' } : { kind: 'found', service };
  }

  ready(): boolean {
    return this.#synced;
  }

  size(): number {
    return this.#cache.size;
  }

  /** When the last full list completed. */
  get lastSyncTime(): Date | undefined {
    return this.#lastSyncTime;
  }

  get watchRestarts(): number {
    return this.#watchRestarts;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
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
          this.#fail(listFailure(error), delayMs);
        }
      } else {
        const outcome = await this.#watchOnce();
        if (this.#stopping) break;
        if (outcome.healthy) failures = 0;
        else delayMs = backoffDelay(++failures, this.#initialBackoffMs, this.#maxBackoffMs);
        if (outcome.end === 'gone') {
          needsList = true;
          this.#onEvent({ type: 'relist', reason: `resourceVersion ${this.#resourceVersion} is too old for a watch (410 Gone)` });
        } else {
          if (outcome.error !== undefined) this.#fail(outcome.error, delayMs);
          this.#watchRestarts++;
          this.#onEvent({ type: 'watch-restart', reason: restartReason(outcome), resourceVersion: this.#resourceVersion });
        }
      }
      if (delayMs > 0) await this.#sleep(delayMs);
    }
    this.#resolveStarted?.();
  }

  /** Lists every Service page by page, then swaps the cache in one step so lookups answer from the old one meanwhile. */
  async #list(): Promise<void> {
    this.#listAbort = new AbortController();
    const records: ServiceRecord[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        // A server that accepts the connection and never answers must not hold the first sync (and readiness) forever.
        const signal = AbortSignal.any([this.#listAbort.signal, AbortSignal.timeout(this.#listPageTimeoutMs)]);
        const page = await this.#api.listServiceForAllNamespaces(
          { limit: this.#pageSize, _continue: continueToken },
          { httpApi: abortableHttpLibrary(signal) },
        );
        for (const item of page.items) {
          const record = toServiceRecord(item);
          if (record !== undefined) records.push(record);
        }
        continueToken = page.metadata?._continue || undefined;
        resourceVersion = page.metadata?.resourceVersion ?? '';
      } while (continueToken !== undefined);
    } finally {
      this.#listAbort = undefined;
    }
    if (this.#stopping) return;
    this.#cache.replaceAll(records);
    this.#resourceVersion = resourceVersion;
    this.#lastSyncTime = new Date();
    this.#lastError = undefined;
    const initial = !this.#synced;
    this.#synced = true;
    this.#onEvent({ type: 'synced', initial, services: this.#cache.size, resourceVersion });
    this.#onServiceChange?.({ type: 'resynced', receivedAt: Date.now() });
    if (initial) this.#resolveStarted?.();
  }

  /** One watch request from the current resourceVersion, applied to the cache until it ends; never rejects. */
  #watchOnce(): Promise<WatchOutcome> {
    return new Promise((resolve) => {
      const startedAt = Date.now();
      let delivered = false;
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (end: WatchOutcome['end'], error?: Error): void => {
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
          else finish('failed', new Error(`watch error event: ${String(status.message ?? JSON.stringify(object))} (code ${String(status.code)})`));
          return;
        }
        delivered = true;
        const change = this.#onServiceChange === undefined ? undefined : serviceChangeFor(this.#cache, type, object, Date.now());
        this.#cache.apply(type, object);
        if (change !== undefined) this.#onServiceChange?.(change);
        const resourceVersion = isObject(object) && isObject(object.metadata) ? object.metadata.resourceVersion : undefined;
        if (typeof resourceVersion === 'string' && resourceVersion !== '') this.#resourceVersion = resourceVersion;
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish('closed');
        else if (httpStatus(error) === 410) finish('gone');
        else if (isTimeout(error)) finish('idle-timeout');
        else finish('failed', watchFailure(error));
      };

      this.#watch
        .watch(SERVICES_PATH, { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true }, onEvent, onDone)
        .then(
          (watchController) => {
            controller = watchController;
            // watch() hands out its AbortController only once the response headers arrived; stop() may have come first.
            if (settled) watchController.abort();
          },
          (error: unknown) => finish('failed', watchFailure(error)),
        );
    });
  }

  #sleep(ms: number): Promise<void> {
    return this.#pause.sleep(ms);
  }

  #fail(error: Error, retryInMs: number): void {
    this.#lastError = error;
    this.#onEvent({ type: 'error', error, retryInMs });
  }
}

/** Exponential backoff with jitter: attempt n waits between half and all of min(max, initial * 2^(n-1)). */
export function backoffDelay(failures: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (path === undefined) kubeConfig.loadFromDefault();
    else kubeConfig.loadFromFile(path);
  } catch (error) {
    throw new Error(`cannot load kubeconfig ${path ?? '(default)'}: ${(error as Error).message}`);
  }
  return kubeConfig;
}

/** client-node's API calls take no AbortSignal; the HTTP library is the one place a request can be given one. */
function abortableHttpLibrary(signal: AbortSignal): HttpLibrary {
  const fetchLibrary = new IsomorphicFetchHttpLibrary();
  return {
    send(request) {
      request.setSignal(signal);
      return fetchLibrary.send(request);
    },
  };
}

function restartReason(outcome: WatchOutcome): string {
  switch (outcome.end) {
    case 'closed':
      return 'the API server ended the watch';
    case 'idle-timeout':
      return 'the watch was idle for 30 s and client-node closed it';
    default:
      return `the watch failed: ${outcome.error?.message ?? 'unknown error'}`;
  }
}

function httpStatus(error: unknown): number | undefined {
  if (!isObject(error)) return undefined;
  const status = error.statusCode ?? error.code;
  return typeof status === 'number' ? status : undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

/** ApiException's own message spans lines and includes every response header; a denial message needs one line. */
function listFailure(error: unknown): Error {
  if (!(error instanceof ApiException)) return asError(error);
  return new Error(`listing Services failed: HTTP ${error.code}${statusMessage(error.body)}`, { cause: error });
}

function watchFailure(error: unknown): Error {
  const status = httpStatus(error);
  if (status === undefined) return asError(error);
  return new Error(`watching Services failed: HTTP ${status} ${(error as Error).message}`, { cause: error });
}

function statusMessage(body: unknown): string {
  let status = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body === '' ? '' : `: ${body.slice(0, 200)}`;
    }
  }
  return isObject(status) && typeof status.message === 'string' ? `: ${status.message}` : '';
}

/** fetch rejects with a bare "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause. */
function asError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined || error.message.includes(cause) ? error : new Error(`${error.message}: ${cause}`, { cause: error });
}
