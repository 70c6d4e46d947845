import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import { apiErrorMessage } from '../cluster/api-error.ts';
import { requestTimeout } from '../cluster/request-timeout.ts';

export interface ObjectEvent {
  regarding: { apiVersion: string; kind: string; namespace: string; name: string; uid: string; resourceVersion?: string };
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, stable: ClusterIPUpdated, EPPServiceMissing, PathEditedByHand. */
  reason: string;
  /** What the controller did or failed to do: Update, Skip. */
  action: string;
  /** Human-readable, at most 1 kB. */
  note: string;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** events.k8s.io/v1 reportingController, a qualified name: `epp-webhook.io/reconciler`. */
  reportingController: string;
  /** reportingInstance: which replica (the leader-election identity). */
  reportingInstance: string;
  onError?: (message: string) => void;
  /** A repeat of the same event within this window updates the first one's `series` instead of adding one. */
  seriesWindowMs?: number;
}

const MAX_NOTE_BYTES = 1024;
const MAX_TRACKED_SERIES = 1000;

/**
 * Records events.k8s.io/v1 Events on the objects the reconciler looks after, so `kubectl describe` and
 * `kubectl events` show what it did. Repeats become a series on one Event (create, then patch), as client-go's
 * events broadcaster does. Never throws: an Event is worth a log line, not a failed reconcile.
 */
export class EventRecorder {
  readonly #api: EventsV1Api;
  readonly #options: EventRecorderOptions;
  readonly #series = new Map<string, { name: string; namespace: string; count: number; firstAt: number }>();

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(EventsV1Api);
  }

  async record(event: ObjectEvent): Promise<void> {
    const now = Date.now();
    const { regarding } = event;
    const note = truncateUtf8(event.note, MAX_NOTE_BYTES);
    const seriesKey = [regarding.namespace, regarding.name, regarding.uid, event.type, event.reason, note].join('\u0000');
    const series = this.#series.get(seriesKey);
    try {
      if (series !== undefined && now - series.firstAt < (this.#options.seriesWindowMs ?? 30 * 60_000)) {
        series.count++;
        await this.#api.patchNamespacedEvent(
          {
            name: series.name,
            namespace: series.namespace,
            body: [{ op: 'add', path: '/series', value: { count: series.count, lastObservedTime: new V1MicroTime(now) } }],
          },
          requestTimeout(5_000),
        );
        return;
      }
      const name = `${regarding.name}.${(BigInt(now) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`;
      await this.#api.createNamespacedEvent(
        {
          namespace: regarding.namespace,
          body: {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { name, namespace: regarding.namespace },
            eventTime: new V1MicroTime(now),
            reportingController: this.#options.reportingController,
            reportingInstance: this.#options.reportingInstance,
            action: event.action,
            reason: event.reason,
            note,
            type: event.type,
            regarding: { ...regarding },
          },
        },
        requestTimeout(5_000),
      );
      this.#series.delete(seriesKey);
      this.#series.set(seriesKey, { name, namespace: regarding.namespace, count: 1, firstAt: now });
      if (this.#series.size > MAX_TRACKED_SERIES) this.#series.delete(this.#series.keys().next().value as string);
    } catch (error) {
      if (series !== undefined) this.#series.delete(seriesKey);
      this.#options.onError?.(`recording Event ${event.reason} on ${regarding.kind} ${regarding.namespace}/${regarding.name}: ${apiErrorMessage(error)}`);
    }
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = text.slice(0, maxBytes - 3);
  while (Buffer.byteLength(cut) > maxBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
