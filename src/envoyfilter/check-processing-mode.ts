import { finding, type Finding, type SeverityOverrides } from '../findings.ts';
import { formatPath, type PathSegments } from '../json-path.ts';
import { envoyField, isObject, quoteValue, type JsonObject } from '../json-value.ts';
import { readBool, readField, readFieldKey, type Reading } from './field-reading.ts';
import { patchLocation } from './config-patches.ts';
import { EXT_PROC_FILTER_NAME, perRouteFilterName, type ExtProcSite } from './ext-proc-configs.ts';
import { rejectsUpdate } from './envoy-rejects-update.ts';
import { ISTIOD_FILTER, type IstiodFilterMerge } from './merge-into-istiod-filter.ts';
import { routeOverridePatch } from './route-override-patch.ts';
import { targetCluster } from './target-cluster.ts';
import { defaultFor, EPP_MODE, MODE_FIELDS, readModeField, readProcessingMode, silentFor, type BodyMode, type EffectiveProcessingMode, type ModeField } from './processing-mode.ts';

/**
 * Why a request body mode breaks with an EPP (EPP202); what the client then gets is bodyModeOutcome's. Measured
 * (test/dataplane/measured-symptoms.json EPP202-BUFFERED, -BUFFERED-above-limit, per-route-buffered,
 * EPP202-BUFFERED_PARTIAL, EPP202-STREAMED, EPP202-GRPC; failing open: EPP202-<each mode>-fail-open,
 * per-route-buffered-fail-open).
 */
const BODY_MODE_BREAKAGE: Partial<Record<BodyMode, string>> = {
  BUFFERED: 'Envoy buffers the whole body (413 above the buffer limit) and sends it in a mode the EPP does not answer',
  BUFFERED_PARTIAL: 'Envoy sends at most the buffer limit of the body, in a mode the EPP does not answer',
  STREAMED: 'the EPP does not answer STREAMED bodies',
  GRPC: 'the EPP does not answer GRPC bodies',
};

/** What a request the EPP never answers gets, by the failure_mode_allow that applies (undefined: not known here). */
function bodyModeOutcome(failOpen: boolean | undefined): string {
  if (failOpen === true) return 'requests wait message_timeout, then bypass the EPP (failure_mode_allow is true) to a backend with no endpoint picking';
  if (failOpen === false) return 'requests wait message_timeout and fail with 504';
  return 'requests wait message_timeout, then fail with 504, or bypass the EPP to a backend with no endpoint picking where failure_mode_allow is true';
}

/**
 * What a response body mode breaks with an EPP (EPP202). The EPP answers response bodies in every mode, always with
 * a FULL_DUPLEX_STREAMED body message (streamed_response): Envoy applies it to a body it holds whole, and refuses it as
 * a spurious message for a chunk of a STREAMED body.
 */
const RESPONSE_BODY_MODE_BREAKAGE: Partial<Record<BodyMode, string>> = {
  // Measured (test/dataplane/measured-symptoms.json EPP202-response-STREAMED-stream, EPP202-response-STREAMED).
  STREAMED:
    'it answers each chunk of a streamed completion (stream: true) with a FULL_DUPLEX_STREAMED body message, which Envoy refuses as spurious and resets the response after its status: the client gets 200, then the body breaks off (after about 1 s) with no token; completions not streamed pass only because their body reaches Envoy whole',
  // GRPC is not judged: completions, streamed and long ones too, arrive whole and on time (measured:
  // EPP202-response-GRPC, -stream, -long).
};

/**
 * Response body modes the EPP answers, that hold the response back (EPP220): Envoy sends the EPP the body once it
 * has it whole (below the buffer limit), and the client gets nothing before. Measured
 * (test/dataplane/measured-symptoms.json EPP220-BUFFERED-stream, EPP220-BUFFERED_PARTIAL-stream): 200, the body intact,
 * but a streamed completion's first token only with its last.
 */
const RESPONSE_BODY_MODE_HOLD: Partial<Record<BodyMode, string>> = {
  BUFFERED: 'Envoy holds the whole response body until the EPP has answered it',
  BUFFERED_PARTIAL: 'Envoy holds the response body, up to the buffer limit, until the EPP has answered it',
};

/** The cluster istiod's own route override names, for a fix that replaces that override. */
const ISTIODS_EPP_CLUSTER = "<the EPP cluster istiod's override names, outbound|<port>||<EPP Service>.<namespace>.svc.cluster.local>";

/**
 * What failure_mode_allow: true does, by the request body mode of a filter that runs it (undefined where the mode is
 * not known here: a route override, a MERGE, which may run under istiod's filter). Measured
 * (test/dataplane/measured-symptoms.json): EPP204-fail-open, EPP205-fail-open-headers-only (other modes); EPP205-fail-open,
 * EPP322-fail-open, EPP322-route-fail-open, EPP205-stalled-epp-fail-open, EPP305-cluster-nowhere-fail-open (an
 * EnvoyFilter's own FULL_DUPLEX_STREAMED filter); EPP501-fail-open (istiod's filter at its cluster's limit).
 */
function failOpenMessage(key: string, bodyMode: BodyMode | undefined): { message: string; closed: string } {
  if (bodyMode === 'FULL_DUPLEX_STREAMED') {
    return {
      message: `ext_proc ${key} true with FULL_DUPLEX_STREAMED: it does not fail open what goes wrong at the EPP: a down EPP, or one past its cluster's max_requests, still gets requests 500, and a stalled one holds them (this mode has no message_timeout); requests bypass the EPP silently, to a backend with no endpoint picking, only where no stream to it can open at all (its cluster missing, EPP305)`,
      closed: '500',
    };
  }
  if (bodyMode !== undefined) {
    return { message: `ext_proc ${key} true: when the EPP times out (message_timeout), or is down, requests silently bypass it and reach a backend with no endpoint picking (fail-open)`, closed: '504/500' };
  }
  return {
    message: `ext_proc ${key} true: requests bypass the EPP silently, to a backend with no endpoint picking, where no stream to it can open, and where it times out or is down with header-only or buffered modes; a filter that runs FULL_DUPLEX_STREAMED itself still gets them 500 from a down EPP or one past its cluster's max_requests (istiod's InferencePool filter, which its route override turns on, skips the EPP past that limit instead), and in that mode a stalled EPP holds them`,
    closed: '504/500',
  };
}

interface RequestBodyModeInput {
  key: string;
  body: BodyMode;
  breakage: string;
  config: JsonObject;
  reading: Reading;
  site: 'filter' | 'per-route';
  partial: boolean;
  /** Whether this config writes the body mode (a MERGE into istiod's filter may only inherit it from an earlier one). */
  written: boolean;
  /** The processing_mode key as written. */
  modeKey: string;
  intoIstiodFilter: IstiodFilterMerge | undefined;
  fix: string;
  at: { location: string; path: string };
  severities: SeverityOverrides;
}

/** istiod's InferencePool filter's message_timeout (pilot/pkg/xds/filters/filters.go), where no MERGE sets one. */
const ISTIOD_MESSAGE_TIMEOUT = '1000s';

/**
 * EPP202 for a request body mode the EPP does not answer. What the client gets follows the failure_mode_allow that
 * applies: the config's own; unknown for a MERGE into another filter (false is not carried) or an override without
 * one (it takes the filter's). Measured: EPP202-BUFFERED, -STREAMED and their -fail-open twins.
 */
function requestBodyModeFinding(input: RequestBodyModeInput): Finding {
  const { key, body, breakage, config, reading, site, partial, fix, at, severities } = input;
  if (input.intoIstiodFilter !== undefined) return istiodFilterBodyModeFinding(input, input.intoIstiodFilter);
  const written = readBool(config, 'failure_mode_allow', reading);
  const failOpen = partial ? written === true || undefined : (written ?? (site === 'filter' ? false : undefined));
  const switched = body === 'BUFFERED' && site === 'filter' ? ' (also when a per-route override switches to it)' : '';
  return finding('EPP202', severities, at, `ext_proc ${key} ${body}: the EPP speaks only FULL_DUPLEX_STREAMED; ${breakage}, so ${bodyModeOutcome(failOpen)}${switched}`, fix);
}

/**
 * EPP202 on the MERGEs into istiod's filter. The mode never reaches an InferencePool route with istiod's override, which
 * sets its own (measured: EPP202-merge-into-istiods-filter-pool-route); it reaches the routes whose override sets none:
 * the gateway's other routes, which it turns the filter on for, through the grpc_service a MERGE gives it
 * (-other-route: message_timeout, then past the EPP, istiod's filter failing open), or istiod's cluster dummy, which
 * Envoy lacks (EPP230-merge-override-without-grpc-service: past the EPP at once); and an InferencePool route whose
 * override an EnvoyFilter replaced without a processing_mode.
 */
function istiodFilterBodyModeFinding({ key, body, breakage, written, modeKey, at, severities }: RequestBodyModeInput, merge: IstiodFilterMerge): Finding {
  const timeout = merge.messageTimeout === undefined ? `istiod's ${ISTIOD_MESSAGE_TIMEOUT}, as no MERGE sets one` : merge.messageTimeout;
  const waits = `requests wait message_timeout (${timeout}), then bypass the EPP to a backend with no endpoint picking, or fail with 504 where the route's override sets failure_mode_allow: false`;
  const reaches = merge.grpcService
    ? `the gateway's other routes, which it turns the filter on for (istiod's filter sets failure_mode_allow true, which a MERGE cannot make false), and an InferencePool route whose override an EnvoyFilter replaced without one. There ${waits}`
    : `an InferencePool route whose override an EnvoyFilter replaced without one, where ${waits}; and the gateway's other routes, which it turns the filter on for on istiod's cluster dummy, which Envoy lacks: no stream opens and requests there pass the EPP at once (istiod's filter fails open)`;
  const as = written ? `in a MERGE into ${ISTIOD_FILTER}` : `as the MERGEs into ${ISTIOD_FILTER} leave it`;
  return finding(
    'EPP202',
    severities,
    at,
    `ext_proc ${key} ${body} ${as}: the EPP speaks only FULL_DUPLEX_STREAMED, and ${breakage}. istiod's route override on each InferencePool route sets a processing_mode of its own (FULL_DUPLEX_STREAMED), so this one never reaches those routes; it reaches only routes whose override sets none: ${reaches}`,
    // The whole mode: without its body mode, headers SEND would still turn the filter on elsewhere (EPP204).
    `remove ${modeKey} from the MERGE${written ? '' : ' into it that sets it'}: istiod's route override already runs FULL_DUPLEX_STREAMED on each InferencePool route, and without it istiod's filter sends nothing on the other routes; to change what one route runs, set processing_mode in that route's override (an HTTP_ROUTE patch of typed_per_filter_config)`,
  );
}

/**
 * The route override that fails an InferencePool route closed under istiod's filter. The route's entry replaces istiod's
 * override whole, which names istiod's EPP cluster and turns the filter on: with failure_mode_allow alone the filter runs
 * on its own cluster, dummy, which Envoy lacks: where the MERGE's mode sends, every request fails (measured:
 * EPP230-override-only-without-grpc-service-fail-closed, there turned on by the override); where nothing sends, the EPP
 * is bypassed (EPP206-route-override-failure-mode-only). So the entry names the cluster and the mode too.
 */
function mergeFailClosedOverride(config: JsonObject): string {
  return `${routeOverridePatch(
    `overrides: {grpc_service: {envoy_grpc: {cluster_name: ${targetCluster(config)?.name ?? ISTIODS_EPP_CLUSTER}}}, processing_mode: {${EPP_MODE}}, failure_mode_allow: false}`,
  )} (it replaces istiod's override on the route whole, so it names the EPP cluster and the EPP's mode as well)`;
}

export interface ModeCheckInput {
  /** The ExternalProcessor or the `overrides` of an ExtProcPerRoute. */
  config: JsonObject;
  segments: PathSegments;
  patchIndex: number;
  /**
   * A MERGE patch or a per-route override without processing_mode: unset fields keep the values the
   * config merges into, so only explicit values can be judged.
   */
  partial: boolean;
  /**
   * A MERGE into the ext_proc filter istiod inserts for InferencePool routes (merge-into-istiod-filter.ts): what it
   * merges into is known, so the mode rules judge `mode`, what the filter runs after every MERGE into it in this
   * EnvoyFilter (`partial` does not apply), once: on the last of those MERGEs (`judgesMode`). Values no mode has are
   * judged on each.
   */
  merged?: IstiodFilterMerge & { judgesMode: boolean };
  /** Envoy checks the trailer rule of FULL_DUPLEX_STREAMED on the filter's config only, not on a per-route override. */
  site: 'filter' | 'per-route';
  /** A per-route override's filter name (its key in typed_per_filter_config). */
  perRouteFilter?: string;
  /** `envoy` for a TypedStruct's value, which Envoy converts itself (field-reading.ts). */
  reading?: Reading;
  severities: SeverityOverrides;
}

/**
 * Checks one processing_mode (and failure_mode_allow beside it) against what Envoy accepts and the EPP speaks; the
 * caller drops the EPP rules (epp-protocol-rules.ts) for a config that does not talk to an EPP.
 */
export function checkProcessingMode({ config, segments, patchIndex, partial, merged, site, perRouteFilter, reading = 'istiod', severities }: ModeCheckInput): Finding[] {
  const findings: Finding[] = [];
  const location = patchLocation(patchIndex);
  const modeKey = readFieldKey(config, 'processing_mode', reading);
  const modeValue = readField(config, 'processing_mode', reading);
  const modePath = [...segments, modeKey];
  const at = (field?: string) => ({ location, path: formatPath(field ? [...modePath, field] : modePath) });

  if (modeValue !== undefined && modeValue !== null && !isObject(modeValue)) {
    // In a TypedStruct it is Envoy that refuses it: EPP221, from check-ext-proc-fields.ts.
    if (reading === 'envoy') return findings;
    findings.push(
      finding('EPP307', severities, at(), `ext_proc ${modeKey} must be an object of modes`, `write ${modeKey} as a mapping, e.g. {${EPP_MODE}}`),
    );
    return findings;
  }
  const processingMode = isObject(modeValue) ? modeValue : undefined;
  const read = readProcessingMode(processingMode, reading);
  const { explicit, invalid } = read;
  const mode = merged === undefined ? read.mode : merged.mode;
  const keyOf = (field: ModeField) => (processingMode ? readFieldKey(processingMode, field, reading) : field);
  const judged = (field: ModeField) => (merged === undefined ? !partial || explicit.has(field) : merged.judgesMode);
  // A body mode is judged where it is written; in MERGEs into istiod's filter, on the filter they leave.
  const bodyJudged = (field: ModeField) => (merged === undefined ? explicit.has(field) : merged.judgesMode);

  for (const bad of invalid) {
    if (bad.refusedBy === 'unknowable') continue; // EPP222, from check-ext-proc-fields.ts
    const isBody = bad.field.endsWith('_body_mode');
    // FULL_DUPLEX_STREAMED needs its trailer mode SEND (EPP203): a fix that leads there names it.
    const direction = bad.field.startsWith('request') ? 'request' : 'response';
    const trailerField = `${direction}_trailer_mode` as const;
    const trailerSent = mode[trailerField] === 'SEND' && !invalid.some((i) => i.field === trailerField);
    const fix = isBody
      ? `use NONE to skip the body, or the body mode your ext_proc server speaks (an EPP: FULL_DUPLEX_STREAMED${trailerSent ? '' : `, with ${keyOf(trailerField)}: SEND`})${bad.value === 'SKIP' ? ' (SKIP is a header and trailer mode, not a body mode)' : ''}`
      : bad.field.endsWith('_trailer_mode') && mode[`${direction}_body_mode`] === 'FULL_DUPLEX_STREAMED'
        ? `use SEND: ${keyOf(`${direction}_body_mode`)} FULL_DUPLEX_STREAMED needs the trailer mode SEND`
        : 'use SEND or SKIP';
    const names = bad.allowed.map((name, number) => `${name} (${number})`).join(', ');
    findings.push(
      bad.refusedBy === 'istio'
        ? finding(
            'EPP201',
            severities,
            at(bad.key),
            `ext_proc ${bad.key} ${quoteValue(bad.value)}: istiod refuses this at kubectl apply: it takes a mode's exact upper-case name or its number, ${names}`,
            fix,
          )
        : finding(
            'EPP210',
            severities,
            at(bad.key),
            reading === 'envoy'
              ? `ext_proc ${bad.key} ${quoteValue(bad.value)} in a TypedStruct: istiod passes it on unconverted, and Envoy cannot read it as a mode (${names}) and ${rejectsUpdate(site)}`
              : `ext_proc ${bad.key} ${quoteValue(bad.value)}: no mode has this number (${names}); Istio accepts it and Envoy ${rejectsUpdate(site)}`,
            fix,
          ),
    );
  }

  for (const direction of ['request', 'response'] as const) {
    const bodyField = `${direction}_body_mode` as const;
    const trailerField = `${direction}_trailer_mode` as const;
    const body = mode[bodyField];
    const breakage = (direction === 'request' ? BODY_MODE_BREAKAGE : RESPONSE_BODY_MODE_BREAKAGE)[body];
    const fix = `set ${keyOf(bodyField)}: FULL_DUPLEX_STREAMED and ${keyOf(trailerField)}: SEND${direction === 'response' ? ', or NONE to keep response bodies from the EPP' : ''}`;
    if (bodyJudged(bodyField) && breakage) {
      findings.push(
        direction === 'request'
          ? requestBodyModeFinding({ key: keyOf(bodyField), body, breakage, config, reading, site, partial, written: explicit.has(bodyField), modeKey, intoIstiodFilter: merged, fix, at: at(keyOf(bodyField)), severities })
          : finding('EPP202', severities, at(keyOf(bodyField)), `ext_proc ${keyOf(bodyField)} ${body}: the EPP speaks only FULL_DUPLEX_STREAMED; ${breakage}`, fix),
      );
    }
    const hold = direction === 'response' ? RESPONSE_BODY_MODE_HOLD[body] : undefined;
    if (bodyJudged(bodyField) && hold) {
      findings.push(
        finding(
          'EPP220',
          severities,
          at(keyOf(bodyField)),
          `ext_proc ${keyOf(bodyField)} ${body}: ${hold}, so completions arrive, but a streamed completion (stream: true) reaches the client all at once at its end: its first token as late as its last`,
          fix,
        ),
      );
    }
    const trailerInvalid = invalid.some((i) => i.field === trailerField);
    if (body === 'FULL_DUPLEX_STREAMED' && judged(trailerField) && !trailerInvalid && mode[trailerField] !== 'SEND') {
      // DEFAULT (0) and an unset trailer mode both run as SKIP: say so, in the manifest's words first.
      const written = processingMode === undefined ? undefined : readField(processingMode, trailerField, reading);
      const trailer = written === undefined ? `unset (${mode[trailerField]})` : written === mode[trailerField] ? mode[trailerField] : `${quoteValue(written)} (${mode[trailerField]})`;
      const asWritten = `ext_proc ${keyOf(bodyField)} FULL_DUPLEX_STREAMED with ${keyOf(trailerField)} ${trailer}`;
      const rejects = `Envoy requires the trailer mode SEND in this mode and ${rejectsUpdate('filter')}`;
      findings.push(
        merged !== undefined
          ? finding(
              'EPP203',
              severities,
              at(keyOf(trailerField)),
              `ext_proc MERGE into ${ISTIOD_FILTER}, which sets no trailer modes: after the MERGEs into it here, it runs ${bodyField} FULL_DUPLEX_STREAMED with ${trailerField} ${mode[trailerField]}, and ${rejects}`,
              `write ${keyOf(trailerField)}: SEND in this MERGE's processing_mode`,
            )
          : site === 'filter'
          ? finding('EPP203', severities, at(keyOf(trailerField)), `${asWritten}: ${rejects}`, `set ${keyOf(trailerField)}: SEND`)
          : finding(
              'EPP211',
              severities,
              at(keyOf(trailerField)),
              // Measured (test/dataplane/measured-symptoms.json EPP211-per-route-trailers-skip, -stream, -long).
              `${asWritten} in a per-route override: Envoy requires trailer mode SEND in this mode on the filter, checks it only there, and accepts this override; completions without trailers pass it (plain, streamed and long: 200, the EPP picks each), what a request or response with trailers then does is not measured`,
              `set ${keyOf(trailerField)}: SEND`,
            ),
      );
    }
  }

  const viaHttpService = readField(config, 'http_service', reading) != null && readField(config, 'grpc_service', reading) == null;
  if (
    judged('request_header_mode') &&
    judged('request_body_mode') &&
    mode.request_header_mode === 'SEND' &&
    mode.request_body_mode === 'NONE' &&
    !invalid.some((i) => i.field === 'request_body_mode')
  ) {
    findings.push(
      finding(
        'EPP204',
        severities,
        at(explicit.has('request_body_mode') ? keyOf('request_body_mode') : undefined),
        `ext_proc sends request headers with request_body_mode NONE: the EPP needs the body to pick an endpoint and never answers, so Envoy waits message_timeout (200 ms by default) then returns 504, or bypasses the EPP when failing open`,
        // The keys as written (lowerCamelCase too), else a second spelling beside them would be the one istiod drops;
        // over http_service Envoy sends no body (EPP218), so the body mode needs the EPP's gRPC first.
        `${viaHttpService ? `replace http_service with grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}} (the EPP speaks gRPC, and Envoy sends no body to an HTTP service), and ` : ''}set ${keyOf('request_body_mode')}: FULL_DUPLEX_STREAMED and ${keyOf('request_trailer_mode')}: SEND`,
      ),
    );
  }

  const failOpenKey = readFieldKey(config, 'failure_mode_allow', reading);
  if (readBool(config, 'failure_mode_allow', reading) === true) {
    const { message, closed } = failOpenMessage(failOpenKey, site === 'filter' && merged === undefined && (!partial || explicit.has('request_body_mode')) ? mode.request_body_mode : undefined);
    // Removed from an override, the filter's value applies, and istiod's InferencePool filter sets true (measured:
    // EPP230-override-unset-headers-only-epp-down); from a MERGE, the filter merged into keeps its own.
    const fix =
      merged !== undefined
        ? `remove ${failOpenKey} from this MERGE (istiod's filter sets it true itself) and, to fail closed, per InferencePool route add ${mergeFailClosedOverride(config)}; or set EPP205 to off if bypassing the EPP is intended`
        : site === 'per-route'
          ? `set ${failOpenKey}: false so Envoy fails closed (${closed}): an override without it takes the filter's value${perRouteFilter === EXT_PROC_FILTER_NAME ? `, and istiod's InferencePool filter, which this name may be, sets true` : ''}; or set EPP205 to off if bypassing the EPP is intended`
          : partial
            ? `remove ${failOpenKey} from this MERGE, and see that the filter it merges into does not set it (istiod's merge does not carry a false); or set EPP205 to off if bypassing the EPP is intended`
            : `remove ${failOpenKey} so Envoy fails closed (${closed}), or set EPP205 to off if bypassing the EPP is intended`;
    findings.push(finding('EPP205', severities, { location, path: formatPath([...segments, failOpenKey]) }, message, fix));
  } else if (merged !== undefined && readBool(config, 'failure_mode_allow', reading) === false) {
    findings.push(
      finding(
        'EPP205',
        severities,
        { location, path: formatPath([...segments, failOpenKey]) },
        // istiod's filter sets true; false is proto3's zero value, which its merge does not carry (the oracle's merged filter).
        `ext_proc ${failOpenKey} false in a MERGE into ${ISTIOD_FILTER}, which sets it true: false is proto3's zero value, which istiod's merge does not carry, so the filter-level true stays: where no route override sets failure_mode_allow (istiod's sets it from the pool's failureMode), a request whose stream to the EPP cannot open, or with header-only modes one the EPP is down for, silently bypasses it (measured: EPP230-virtual-host-override-unset-plain-route, EPP230-override-unset-headers-only-epp-down)`,
        `remove ${failOpenKey} from this MERGE (it changes nothing) and, to fail closed, per InferencePool route add ${mergeFailClosedOverride(config)}; or set EPP205 to off if failing open is intended`,
      ),
    );
  }

  const overrideKey = readFieldKey(config, 'allow_mode_override', reading);
  const fullDuplex = mode.request_body_mode === 'FULL_DUPLEX_STREAMED' || mode.response_body_mode === 'FULL_DUPLEX_STREAMED';
  if (readBool(config, 'allow_mode_override', reading) === true && fullDuplex) {
    findings.push(
      finding(
        'EPP207',
        severities,
        { location, path: formatPath([...segments, overrideKey]) },
        // Measured (test/dataplane/measured-symptoms.json EPP207-allow-mode-override): Envoy loads it, 200, the EPP once per request.
        `ext_proc ${overrideKey} true with FULL_DUPLEX_STREAMED: it changes nothing here: Envoy loads it and requests run as without it (the EPP picks each)`,
        `remove ${overrideKey}`,
      ),
    );
  }
  return findings;
}

/** The processing_mode of a per-route config's overrides, if it has any, checked as a per-route site's. */
export function checkOverrideMode(site: ExtProcSite, reading: Reading, severities: SeverityOverrides): Finding[] {
  const overrides = envoyField(site.config, 'overrides');
  if (!isObject(overrides)) return [];
  const partial = envoyField(overrides, 'processing_mode') === undefined;
  return checkProcessingMode({ config: overrides, segments: [...site.segments, 'overrides'], patchIndex: site.patch.index, partial, site: 'per-route', perRouteFilter: perRouteFilterName(site), reading, severities });
}

/** True when a config (an override, say) sets a processing_mode of its own, and that mode sends the EPP something. */
export function setsModeThatSends(config: JsonObject, reading: Reading = 'istiod'): boolean {
  return isObject(readField(config, 'processing_mode', reading)) && !sendsNothing(config, reading);
}

/**
 * True when a processing_mode sends the EPP nothing at all: every header and trailer SKIP, every body NONE (an unset or
 * invalid field at its default). Read field by field, so a mode that sends headers is known at the first one.
 */
export function sendsNothing(config: JsonObject, reading: Reading = 'istiod'): boolean {
  const value = readField(config, 'processing_mode', reading);
  const processingMode = isObject(value) ? value : undefined;
  return MODE_FIELDS.every((field) => {
    const read = processingMode === undefined ? undefined : readModeField(processingMode, field, reading);
    return (read?.kind === 'mode' ? read.mode : defaultFor(field)) === silentFor(field);
  });
}
