import { STATUS_CODES, type RequestListener } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import secureJson from 'secure-json-parse';
import Fastify, { LogController, type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { parseAdmissionReview } from '../admission/admission-review.ts';
import { admissionResponseJson } from '../admission/admission-response.ts';
import { admitRequest, type Endpoint } from '../admission/admit-request.ts';
import { jsonShapeProblem } from '../admission/json-shape.ts';
import { PROTOTYPE_KEYS_REFUSED } from '../admission/prototype-keys.ts';
import type { Verdict } from '../admission/verdict.ts';
import type { EnvoyFilterIndex } from '../cluster/envoyfilter-index.ts';
import type { InferencePoolResolver } from '../cluster/inference-pool.ts';
import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { admissionLine, admissionLogFields, type VerdictLabel } from './admission-log.ts';
import { BytesInFlight, bodyBytes } from './bytes-in-flight.ts';
import { clientErrorAnswer, clientHungUp, writeClientError } from './client-error-answer.ts';
import { loggableError } from './loggable-error.ts';
import type { LogOptions } from './log-options.ts';
import type { WebhookMetrics } from './metrics.ts';
import { servingTlsOptions, type ServingTls } from './tls-options.ts';
import { probeAnswer } from './probes.ts';

export interface AppOptions {
  config: WebhookConfig;
  resolver: ServiceResolver;
  /** InferencePools and the EnvoyFilters that serve them (the core's optional ports). */
  pools?: InferencePoolResolver;
  envoyFilters?: EnvoyFilterIndex;
  /** envoyFilters is the cluster's, all of it (serve's watch): EPP406 may say a name is missing. */
  envoyFiltersComplete?: boolean;
  metrics: WebhookMetrics;
  /** PEM serving pair; the caller swaps it later with `app.server.setSecureContext`. */
  tls: ServingTls;
  logger: LogOptions;
  /** How long a request may take to arrive; 30 s unless a test waits for it. */
  requestTimeoutMs?: number;
  /** The core's decision; admitRequest unless a benchmark measures the server around a fixed answer (bench --ceiling). */
  admit?: typeof admitRequest;
}

/** The body of every 4xx answer (the error handler's): what was wrong, never the request's contents. */
const BAD_REQUEST_SCHEMA = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' } },
} as const;

/**
 * Longest a request may take to arrive, headers and body. Fastify's default is none: a connection that sent half its
 * headers or body, or nothing at all, stayed open (past 130 s in a test), holding what it had sent. The apiserver waits
 * at most 30 s (timeoutSeconds' maximum), so a request still arriving after that has no caller.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Bodies up to this length and shorter answers are not counted in maxRequestBytesInFlight. */
const SMALL_BODY = 64 * 1024;
const LARGE_ANSWER = SMALL_BODY;
/** Headers come in one piece from the apiserver; a connection's TLS handshake likewise. */
const HEADERS_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Longer than the apiserver keeps an idle connection (client-go's transport takes Go's `IdleConnTimeout`, 90 s), so the
 * apiserver always closes first. Closed here first (Fastify's 72 s), an admission the apiserver sent just as the close
 * crossed it fails with EOF: Go retries a POST only when nothing of it was written, and `failurePolicy: Fail` refuses
 * the write.
 */
const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/**
 * The time limits of a listener's requests (the HTTPS one and the metrics one alike). Node looks for requests past their
 * time every connectionsCheckingInterval (30 s by default, a constructor option Fastify does not pass on): a quarter of
 * the headers' limit.
 */
export function requestTimeLimits(requestTimeout: number): { requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeout);
  return { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.ceil(headersTimeout / 4) };
}

/**
 * The HTTPS listener with its limits. A connection that never completes its TLS handshake counts against
 * maxConnections too, and Node's default gives it 120 s.
 */
function createLimitedServer(tls: ServingTls, requestTimeout: number, maxConnections: number, handler: RequestListener): HttpsServer {
  const server = createServer(
    {
      ...servingTlsOptions(tls),
      handshakeTimeout: Math.min(HANDSHAKE_TIMEOUT_MS, requestTimeout),
      ...requestTimeLimits(requestTimeout),
    },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = maxConnections;
  return server;
}

/** The HTTPS admission server: routes only, the core decides. */
export function buildApp(options: AppOptions): FastifyInstance {
  const { config, resolver, pools, envoyFilters, metrics, admit = admitRequest, logger } = options;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    https: servingTlsOptions(options.tls),
    serverFactory: (handler) => createLimitedServer(options.tls, requestTimeout, config.maxConnections, handler),
    logger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: with request logging off, its only binding (Fastify's process-local reqId) would
    // tie a line to nothing else; the admission line carries the apiserver's uid. A child costs ~6k instructions.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.maxRequestBytes,
    // While draining, a request that arrives on an open keep-alive connection is answered (with Connection: close)
    // rather than given a canned 503, which the apiserver would turn into a failed apply under failurePolicy Fail.
    return503OnClosing: false,
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (clientHungUp(error.code) || socket.destroyed) {
        socket.destroy();
        return;
      }
      const answer = clientErrorAnswer(error.code, requestTimeLimits(requestTimeout));
      // A client that stalled sent nothing wrong: its 408 is not a bad request.
      if (answer.status === 408) {
        app.log.info({ endpoint: 'other', status: answer.status, reason: answer.reason }, 'request timed out');
      } else {
        metrics.badRequests.inc({ endpoint: 'other', status: String(answer.status) });
        app.log.info({ endpoint: 'other', status: answer.status, reason: answer.reason }, 'bad request');
      }
      writeClientError(socket, answer);
    },
  });

  const bodies = new BytesInFlight(config.maxRequestBytesInFlight);

  // Fastify says Connection: close only to requests routed after close() began. One in flight then, answered keep-alive,
  // held its connection open, and the shutdown with it, until the drain limit cut it.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  // The admission line is written to the logger's stream as pino would write it, without pino's per-field work;
  // whether it is written at all is pino's own level decision (with logger settings, Fastify's log is a pino Logger).
  const admissionLog = logger !== false && (app.log as Logger).isLevelEnabled('info') ? logger.stream : undefined;

  // The apiserver sends JSON only; our own parser tells a prototype-poisoning attempt apart from broken JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if ((body as string).trim() === '') {
      done(Object.assign(new Error('empty body'), { statusCode: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' }), undefined);
      return;
    }
    // Nesting and container count are checked on the text: JSON.parse would allocate before anything could refuse.
    const shape = jsonShapeProblem(body as string);
    if (shape !== undefined) {
      done(Object.assign(new Error('json shape'), { statusCode: shape.status, code: 'EPP_JSON_SHAPE', reason: shape.reason }), undefined);
      return;
    }
    try {
      done(null, secureJson.parse(body as string, undefined, PROTOTYPE_KEYS_REFUSED));
    } catch (error) {
      const poisoned = (error as Error).message.includes('forbidden');
      done(Object.assign(new Error(poisoned ? 'poisoned' : 'invalid json'), { statusCode: 400, code: poisoned ? 'EPP_PROTO_KEY' : 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });

  // Error bodies carry a reason, never the request's contents (a JSON syntax error would quote them).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (clientHungUp(error.code)) {
      void reply.code(400).send();
      return;
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const reason = reasonFor(error, config.maxRequestBytes);
    // `mutate`, as every other metric labels the endpoint; a path with no route is `other`, never the path itself: each
    // label value is a series kept for good, and a client could send a new path with every request.
    const endpoint = request.routeOptions.url === undefined ? 'other' : request.routeOptions.url.slice(1);
    metrics.badRequests.inc({ endpoint, status: String(status) });
    if (status === 500) request.log.error({ err: loggableError(error) }, 'request failed');
    else request.log.info({ endpoint, status, reason }, 'bad request');
    void reply.code(status).send({ error: STATUS_CODES[status] ?? 'Bad Request', reason });
  });

  // Fastify's own 404 body quotes the URL, query string included; ours names the routes instead. Counted and logged
  // as `other` like any bad request, never by its path.
  app.setNotFoundHandler(async (request, reply) => {
    const reason = 'this server answers POST /mutate, POST /validate, GET /healthz and GET /readyz';
    metrics.badRequests.inc({ endpoint: 'other', status: '404' });
    request.log.info({ endpoint: 'other', status: 404, reason }, 'bad request');
    return reply.code(404).send({ error: 'Not Found', reason });
  });

  // On every path, as a 404 reads its body too, and before the body is read. The apiserver's kilobyte objects are not
  // counted: a client that fills the limit (it may declare a length and send nothing) shuts out only other large
  // bodies, and what small ones hold is bounded by maxConnections.
  app.addHook('onRequest', (request, reply, done) => {
    const bytes = bodyBytes(request.headers, config.maxRequestBytes);
    if (bytes <= SMALL_BODY || bodies.holdBody(reply.raw, bytes)) {
      done();
      return;
    }
    // Node reads the rest of the body and drops it, so the client gets this answer rather than a reset connection.
    void reply.header('retry-after', '1');
    done(bytesInFlightError(`${bytes} more bytes of body`, bodies));
  });

  for (const endpoint of ['mutate', 'validate'] as const) {
    app.post(`/${endpoint}`, { schema: { response: { '4xx': BAD_REQUEST_SCHEMA } } }, async (request, reply) => {
      const parsed = parseAdmissionReview(request.body);
      if (!parsed.ok) {
        metrics.badRequests.inc({ endpoint, status: '400' });
        request.log.info({ endpoint, reason: parsed.reason }, 'not an AdmissionReview');
        return reply.code(400).send({ error: 'Bad Request', reason: parsed.reason });
      }
      const review = parsed.request;
      const started = process.hrtime.bigint();
      metrics.inFlight.add([endpoint]);
      let verdict: Verdict;
      let kind: string | undefined;
      try {
        const admission = await admit(endpoint, review, { config, resolver, pools, envoyFilters, envoyFiltersComplete: options.envoyFiltersComplete });
        verdict = admission.verdict;
        kind = admission.kind;
        // Not a denial's, nor a dry run's (every `kubectl diff`): neither is stored. An allowed one may still be refused later.
        if (admission.substitutions > 0 && verdict.allowed && review.dryRun !== true) metrics.substitutions.inc(admission.substitutions);
      } catch (error) {
        // A broken invariant in the core: deny rather than let an unchecked object through.
        request.log.error({ err: loggableError(error), uid: review.uid }, 'admission failed');
        verdict = { allowed: false, code: 500, message: `epp-webhook failed to check this object (${(error as Error).name}); it was not admitted. This is a bug: please report it with the webhook's log line for uid ${review.uid}`, warnings: [], findings: [] };
        kind = review.kind.kind;
      } finally {
        metrics.inFlight.add([endpoint], -1);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Already JSON (admissionResponseJson): with its content type set, Fastify sends the string as it is.
      const answer = admissionResponseJson(review.uid, verdict);
      // An answer waits in memory until the client reads it, and can be twice its request (a patch per rule): large ones
      // are counted, so a client that sends objects and reads nothing cannot pile them up. Real objects' are kilobytes.
      // (A character is at most three UTF-8 bytes: the length alone rules out almost every answer.)
      const bytes = answer.length * 3 >= LARGE_ANSWER ? Buffer.byteLength(answer) : 0;
      if (bytes >= LARGE_ANSWER) {
        if (!bodies.holdAnswer(reply.raw, bytes)) {
          void reply.header('retry-after', '1');
          throw bytesInFlightError(`an answer of ${bytes} bytes`, bodies);
        }
        // The TLS socket would keep a buffer this large for as long as the connection stays open; and a client that does
        // not read the answer makes no progress, so its connection is cut (it is counted until then) after as long as a
        // request may take to arrive.
        void reply.header('connection', 'close');
        reply.raw.socket?.setTimeout(requestTimeout);
      }
      const verdictLabel: VerdictLabel = kind === undefined ? 'passed' : verdict.allowed ? 'allowed' : 'denied';
      metrics.requests.add([endpoint, kind ?? 'other', review.operation, verdictLabel]);
      metrics.duration.observe([endpoint, kind ?? 'other'], seconds);
      for (const f of verdict.findings) metrics.findings.add([f.code, f.severity]);
      admissionLog?.write(admissionLine(admissionLogFields(endpoint, review, verdict, verdictLabel, seconds)));
      return reply.type('application/json; charset=utf-8').send(answer);
    });
  }

  for (const path of ['/healthz', '/readyz'] as const) {
    app.get(path, async (_request, reply) => {
      const answer = probeAnswer(path, { resolver, pools, envoyFilters });
      return reply.code(answer.status).send(answer.body);
    });
  }
  return app;
}

function bytesInFlightError(what: string, bodies: BytesInFlight): Error {
  const reason = `the webhook holds ${bodies.held} bytes of other requests' large bodies and answers; ${what} would pass maxRequestBytesInFlight (${bodies.limit}): retry`;
  return Object.assign(new Error('bytes in flight'), { statusCode: 429, code: 'EPP_BYTES_IN_FLIGHT', reason });
}

function reasonFor(error: FastifyError, limit: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${limit} bytes (maxRequestBytes)`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'the body must be application/json (an AdmissionReview v1)';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'the body is not valid JSON';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty; expected an AdmissionReview v1';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'the Content-Length does not match the body';
    case 'EPP_PROTO_KEY':
      return 'the body contains a __proto__ or constructor.prototype key, which is refused';
    case 'EPP_JSON_SHAPE':
    case 'EPP_BYTES_IN_FLIGHT':
      return (error as FastifyError & { reason: string }).reason;
    default:
      return error.statusCode && error.statusCode < 500 ? error.code ?? 'bad request' : 'internal error';
  }
}
