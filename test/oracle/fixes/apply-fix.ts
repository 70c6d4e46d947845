/**
 * A finding's Fix text, applied literally to the manifest that triggered it: what a user does who reads
 * `[EPP202] Fix: set request_body_mode: FULL_DUPLEX_STREAMED and request_trailer_mode: SEND` and edits the field the
 * finding's path names. Each reading is driven by the text itself (a text no reading knows is reported, so a new or
 * reworded fix gets a reading too); where the text offers alternatives ("A, or B"), each one is a variant.
 */
import { parse } from 'yaml';
import type { Finding } from '../../../src/findings.ts';
import { INFERENCE_ROUTE_NAME } from '../../../src/envoyfilter/route-override-patch.ts';
import { EPP_CLUSTER, PLACEHOLDER, eppMode, grpcToEpp, http2Options, tlsSocket, type Json, type JsonMap } from '../corpus/building-blocks.ts';

export type Segment = string | number;

/** The segments of a path as formatPath writes it: `spec.configPatches[0].patch.value["envoy.filters.http.ext_proc"]`. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /(?:^|\.)([A-Za-z_@$][\w@$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    out.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]) as string));
  }
  if (re.lastIndex !== path.length) throw new Error(`cannot parse path ${path}`);
  return out;
}

const clone = <T>(value: T): T => structuredClone(value);

function at(root: Json, segments: readonly Segment[]): Json | undefined {
  let node: Json | undefined = root;
  for (const s of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, Json>)[s];
  }
  return node;
}

function objectAt(root: Json, segments: readonly Segment[], create = false): JsonMap {
  if (create) {
    let node = root as JsonMap;
    for (const s of segments) {
      const next = (node as Record<string | number, Json>)[s];
      if (next === undefined || next === null) (node as Record<string | number, Json>)[s] = {};
      node = (node as Record<string | number, Json>)[s] as JsonMap;
    }
  }
  const node = at(root, segments);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new Error(`no object at ${segments.join('.')}`);
  return node;
}

/** A fix that makes the user write a key the object already has: a YAML mapping with a duplicate key, which kubectl refuses. */
export class DuplicateKey extends Error {}

/** `object`'s keys, in order, with `from` renamed to `to`. */
function renameKey(object: JsonMap, from: string, to: string): void {
  if (from !== to && Object.hasOwn(object, to)) throw new DuplicateKey(`renaming ${from} to ${to}, which the object already has`);
  const entries = Object.entries(object).map(([k, v]): [string, Json] => [k === from ? to : k, v]);
  for (const k of Object.keys(object)) delete object[k];
  for (const [k, v] of entries) object[k] = v;
}

export interface Variant {
  /** Which alternative of the fix text. */
  name: string;
  object: JsonMap;
}

/** A key named in a fix as the user would write it: `request_body_mode`, `requestBodyMode`. */
const KEY = '[A-Za-z_][\\w]*';

/**
 * The manifests a user gets by applying `finding.fix` to `object` (the manifest as written), one per alternative of the
 * text; undefined when no reading of this text is known (the caller reports it).
 */
export function applyFix(object: JsonMap, finding: Finding): Variant[] | undefined {
  const path = parsePath(finding.path);
  const fix = finding.fix;
  const variant = (name: string, edit: (o: JsonMap) => void): Variant => {
    const o = clone(object);
    edit(o);
    return { name, object: o };
  };
  const parent = path.slice(0, -1);
  const last = path.at(-1);
  const lastKey = typeof last === 'string' ? last : undefined;
  let m: RegExpExecArray | null;

  // EPP214/EPP225 status_on_error (the path is the field or its code): `set K: {code: 503}, or remove K`.
  if ((m = new RegExp(`^set (${KEY}): \\{code: 503\\}, or remove \\1$`).exec(fix))) {
    const k = m[1];
    const holder = lastKey === k ? parent : path.slice(0, -2);
    return [variant(`${k}={code: 503}`, (o) => (objectAt(o, holder)[k] = { code: 503 })), variant(`remove ${k}`, (o) => delete objectAt(o, holder)[k])];
  }
  // EPP225 forward_rules (the path is the list): `list the headers in F.L.patterns (e.g. {exact: x-gateway-model-name}), or remove L`.
  if ((m = new RegExp(`^list the headers in \\S+\\.patterns \\(e\\.g\\. \\{exact: x-gateway-model-name\\}\\), or remove (${KEY})$`).exec(fix)) && lastKey === m[1]) {
    return [
      variant('patterns', (o) => (objectAt(o, path).patterns = [{ exact: 'x-gateway-model-name' }])),
      variant(`remove ${lastKey}`, (o) => delete objectAt(o, parent)[lastKey]),
    ];
  }
  const spliceAt = (o: JsonMap, element: readonly Segment[]) => (at(o, element.slice(0, -1)) as Json[]).splice(element.at(-1) as number, 1);
  // EPP225 a pattern with no match (the path is the pattern).
  if (fix === 'write the pattern as {exact: <header name>} or {prefix: <start of the names>}') {
    return [
      variant('exact', (o) => ((at(o, parent) as Json[])[last as number] = { exact: 'x-gateway-model-name' })),
      variant('prefix', (o) => ((at(o, parent) as Json[])[last as number] = { prefix: 'x-' })),
    ];
  }
  // EPP225 an empty prefix, suffix or contains (the path is that key of the pattern; removing the pattern may leave none).
  if ((m = new RegExp(`^write at least one character in (${KEY})$`).exec(fix)) && lastKey === m[1]) {
    return [variant(`${lastKey}=x-`, (o) => (objectAt(o, parent)[lastKey] = 'x-'))];
  }
  // EPP225 a RegexMatcher without regex (the path is the matcher or its regex).
  if (fix === 'write a regex of at least one character (RE2 syntax)') {
    return [variant('regex', (o) => (objectAt(o, lastKey === 'regex' ? parent : path).regex = 'x-.*'))];
  }
  // EPP225 an attribute that is not CEL (the path is the list entry).
  if (fix.startsWith('write the attribute as Envoy names it (') && fix.endsWith('), or remove it')) {
    return [variant('request.path', (o) => ((at(o, parent) as Json[])[last as number] = 'request.path')), variant('remove it', (o) => spliceAt(o, path))];
  }
  // EPP225 an extension without name or typed_config.
  if ((m = new RegExp(`^remove (${KEY}), or give it a name and a typed_config$`).exec(fix)) && lastKey === m[1]) {
    return [variant(`remove ${lastKey}`, (o) => delete objectAt(o, parent)[lastKey])];
  }
  // EPP201/EPP210 in allowed_override_modes: `write one of A, B, C`.
  if ((m = /^write one of ((?:\w+, )*\w+)$/.exec(fix))) {
    return m[1].split(', ').map((v) => variant(v, (o) => (objectAt(o, parent)[lastKey!] = v)));
  }
  // EPP216 gRPC metadata (the path is the entry).
  if (fix === 'give each entry a key (a lower-case header name, e.g. x-epp) and a value on one line') {
    return [variant('x-epp: 1', (o) => ((at(o, parent) as Json[])[last as number] = { key: 'x-epp', value: '1' }))];
  }
  // EPP312 HTTP/2 keepalive: `add K.timeout, e.g. 5s, or remove K`; `set K to 1ms or more, e.g. 5s`.
  if ((m = new RegExp(`^add (${KEY})\\.timeout, e\\.g\\. 5s, or remove \\1$`).exec(fix)) && lastKey === m[1]) {
    return [variant('timeout=5s', (o) => (objectAt(o, path).timeout = '5s')), variant(`remove ${lastKey}`, (o) => delete objectAt(o, parent)[lastKey])];
  }
  if ((m = new RegExp(`^set (${KEY}) to 1ms or more, e\\.g\\. 5s$`).exec(fix)) && lastKey === m[1]) {
    return [variant(`${lastKey}=5s`, (o) => (objectAt(o, parent)[lastKey] = '5s'))];
  }
  // EPP312 a custom SETTINGS parameter (the path is the entry).
  if (fix === 'give the parameter an identifier and a value, or remove it') {
    return [variant('fill in', (o) => { const p = objectAt(o, path); p.identifier ??= 9; p.value ??= 1; }), variant('remove it', (o) => spliceAt(o, path))];
  }
  if (fix === 'use an identifier from 0 to 65535, or remove the parameter') {
    return [variant('identifier=9', (o) => (objectAt(o, path).identifier = 9)), variant('remove the parameter', (o) => spliceAt(o, path))];
  }
  if (fix === 'remove the parameter' || fix === 'remove the parameter (one value per identifier)') {
    return [variant('remove the parameter', (o) => spliceAt(o, path))];
  }
  if (fix === 'remove the parameter, and set allow_connect instead') {
    return [variant('allow_connect', (o) => { spliceAt(o, path); objectAt(o, path.slice(0, -2)).allow_connect = true; })];
  }
  if ((m = new RegExp(`^remove the parameter, or (${KEY})$`).exec(fix))) {
    const named = m[1];
    return [variant('remove the parameter', (o) => spliceAt(o, path)), variant(`remove ${named}`, (o) => delete objectAt(o, path.slice(0, -2))[named])];
  }
  // Mode values: `use SEND or SKIP`; `use NONE to skip the body, or the body mode your ext_proc server speaks (an EPP: FULL_DUPLEX_STREAMED)`.
  if (fix === 'use SEND or SKIP') {
    return ['SEND', 'SKIP'].map((v) => variant(v, (o) => (objectAt(o, parent)[lastKey!] = v)));
  }
  if ((m = new RegExp(`^use NONE to skip the body, or the body mode your ext_proc server speaks \\(an EPP: FULL_DUPLEX_STREAMED(?:, with (${KEY}): SEND)?\\)`).exec(fix))) {
    const trailer = m[1];
    return [
      variant('non-EPP: NONE', (o) => (objectAt(o, parent)[lastKey!] = 'NONE')),
      variant(trailer ? `FULL_DUPLEX_STREAMED, ${trailer}: SEND` : 'FULL_DUPLEX_STREAMED', (o) => {
        const mode = objectAt(o, parent);
        mode[lastKey!] = 'FULL_DUPLEX_STREAMED';
        if (trailer) mode[trailer] = 'SEND';
      }),
    ];
  }
  if (new RegExp(`^use SEND: ${KEY} FULL_DUPLEX_STREAMED needs the trailer mode SEND$`).test(fix)) {
    return [variant('SEND', (o) => (objectAt(o, parent)[lastKey!] = 'SEND'))];
  }
  // EPP204 over http_service: `replace http_service with grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}} (...), and set ...`.
  if ((m = /^replace http_service with grpc_service: \{envoy_grpc: \{cluster_name: <EPP cluster>\}\} \([^)]*\), and (set .*)$/.exec(fix))) {
    const config = finding.path.includes('processing') ? path.slice(0, path.findIndex((s) => typeof s === 'string' && /^processing_?mode$/i.test(s))) : path;
    const rest = applyFix(object, { ...finding, fix: m[1] });
    return rest?.map((v) => {
      const c = objectAt(v.object, config);
      delete c.http_service;
      c.grpc_service = grpcToEpp();
      return { name: `grpc_service, ${v.name}`, object: v.object };
    });
  }
  // Body and trailer modes: `set K: V and K2: V2[, or NONE to keep response bodies from the EPP]`, `set K: V`,
  // `write K: V in this MERGE's processing_mode` (the finding's path is a field of that processing_mode).
  if ((m = new RegExp(`^(?:set|write) (${KEY}): (\\w+)(?: and (${KEY}): (\\w+))?(, or NONE to keep response bodies from the EPP)?(?: in this MERGE's processing_mode)?$`).exec(fix))) {
    const [, k1, v1, k2, v2, orNone] = m;
    // EPP204's path is the processing_mode itself when request_body_mode is not written.
    const modePath = finding.code === 'EPP204' && !/_body_mode$|BodyMode$/.test(String(last)) ? path : parent;
    const out = [
      variant(k2 ? `${k1}=${v1},${k2}=${v2}` : `${k1}=${v1}`, (o) => {
        const mode = objectAt(o, modePath, true);
        mode[k1] = v1;
        if (k2) mode[k2] = v2;
      }),
    ];
    if (orNone) out.push(variant(`${k1}=NONE`, (o) => (objectAt(o, modePath, true)[k1] = 'NONE')));
    return out;
  }
  if ((m = new RegExp(`^set (${KEY}) between (\\S+) and (\\S+)$`).exec(fix))) {
    const [, k, low, high] = m;
    return [low, high].map((v) => variant(`${k}=${v}`, (o) => (objectAt(o, parent)[k] = v)));
  }
  if ((m = new RegExp(`^write a duration of (\\S+) or more for (${KEY})$`).exec(fix))) {
    const [, low, k] = m;
    const written = at(object, path);
    const positive = typeof written === 'string' ? written.replace(/^-/, '') : '1s';
    return [low, positive].map((v) => variant(`${k}=${v}`, (o) => (objectAt(o, parent)[k] = v)));
  }
  // `write K: V` for one field (`write connect_timeout: 2s`, `write port_value: 9002`).
  if ((m = new RegExp(`^write (${KEY}): (\\w+)$`).exec(fix))) {
    const [, k, v] = m;
    return [variant(`${k}=${v}`, (o) => (objectAt(o, parent)[k] = /^\d+$/.test(v) ? Number(v) : v))];
  }
  // EPP312 on an endpoint without a port (the path is its port_value).
  if (fix === 'write port_value: the port the server listens on (9002 for an EPP)') {
    return [variant('port_value=9002', (o) => (objectAt(o, parent)[lastKey!] = 9002))];
  }
  // EPP321 on a key only an Any takes.
  if (fix === 'remove @type' && lastKey === '@type') {
    return [variant('remove @type', (o) => delete objectAt(o, parent)['@type'])];
  }
  // EPP312 on a named port: `replace K with K2: V`.
  if ((m = new RegExp(`^replace (${KEY}) with (${KEY}): (\\w+)$`).exec(fix)) && lastKey === m[1]) {
    const [, from, to, v] = m;
    return [variant(`${to}=${v}`, (o) => { const holder = objectAt(o, parent); delete holder[from]; holder[to] = /^\d+$/.test(v) ? Number(v) : v; })];
  }
  // EPP205 in a route override: `set K: false so Envoy fails closed (...): an override without it takes ...`.
  if ((m = new RegExp(`^set (${KEY}): false so Envoy fails closed `).exec(fix)) && lastKey === m[1]) {
    return [variant(`${m[1]}=false`, (o) => (objectAt(o, parent)[m![1]] = false))];
  }
  // EPP202 on the MERGEs into istiod's filter: `remove K from the MERGE[ into it that sets it]: ...` (the path is the
  // last MERGE's, which may not write it: each MERGE into istiod's filter that does loses it).
  if ((m = new RegExp(`^remove (${KEY}) from the MERGE(?: into it that sets it)?: istiod's route override already runs FULL_DUPLEX_STREAMED`).exec(fix))) {
    const k = m[1];
    return [
      variant(`remove ${k} from the MERGEs`, (o) => {
        for (const p of (o.spec as { configPatches: Json[] }).configPatches) {
          const value = ((p as JsonMap).patch as JsonMap | undefined)?.value as JsonMap | undefined;
          const config = (value?.typed_config ?? value?.typedConfig) as JsonMap | undefined;
          if ((p as JsonMap).applyTo === 'HTTP_FILTER' && ((p as JsonMap).patch as JsonMap).operation === 'MERGE' && config !== null && typeof config === 'object') {
            delete config.processing_mode;
            delete config.processingMode;
          }
        }
      }),
    ];
  }
  // `remove K so Envoy fails closed ..., or set EPP205 to off ...`, `remove K`.
  if ((m = new RegExp(`^remove (${KEY})(?: so |$)`).exec(fix)) && lastKey === m[1]) {
    return [variant(`remove ${m[1]}`, (o) => delete objectAt(o, parent)[m![1]])];
  }
  // EPP320: a health check Envoy rejects (the finding's path is the check): fill in what it lacks, or remove it.
  if (fix.startsWith('give the health check what it lacks, e.g. timeout: 1s, interval: 10s, unhealthy_threshold: 3, healthy_threshold: 1, grpc_health_check: {}')) {
    const defaults: JsonMap = { timeout: '1s', interval: '10s', unhealthy_threshold: 3, healthy_threshold: 1 };
    const checkers = ['grpc_health_check', 'http_health_check', 'tcp_health_check', 'custom_health_check'];
    return [
      variant('fill in', (o) => {
        // A null entry is an empty one: filled in, it becomes a check.
        if (at(o, path) === null) (at(o, parent) as Json[])[last as number] = {};
        const check = objectAt(o, path);
        for (const [key, value] of Object.entries(defaults)) check[key] ??= value;
        if (!checkers.some((c) => check[c] !== undefined)) check.grpc_health_check = {};
      }),
      variant('remove it', (o) => (at(o, parent) as Json[]).splice(path.at(-1) as number, 1)),
    ];
  }
  // EPP206 on a filter disabled: true (the finding's path is its disabled key): the first alternative, remove the key.
  if (fix.startsWith('remove disabled: true, or turn the filter on for the inference routes') && lastKey !== undefined && /^disabled$/.test(lastKey)) {
    return [variant('remove disabled', (o) => delete objectAt(o, parent)[lastKey])];
  }
  // `rename A to B`; `remove A; the fields of M are ...`.
  if ((m = new RegExp(`^rename (\\S+) to (${KEY})$`).exec(fix)) && lastKey === m[1]) {
    const [, from, to] = m;
    return [variant(`rename ${from} to ${to}`, (o) => renameKey(objectAt(o, parent), from, to))];
  }
  if ((m = new RegExp(`^remove (\\S+) \\(${KEY} is written already\\)$`).exec(fix)) && lastKey === m[1]) {
    return [variant(`remove ${m[1]}`, (o) => delete objectAt(o, parent)[m![1]])];
  }
  if ((m = /^remove (\S+); the fields of \w+ are /.exec(fix)) && lastKey === m[1]) {
    return [variant(`remove ${m[1]}`, (o) => delete objectAt(o, parent)[m![1]])];
  }
  // EPP212/EPP222: `write the field once (camel or snake) with the value you mean`, `write the field once (snake) ...`.
  if ((m = new RegExp(`^write the field once \\((${KEY})(?: or (${KEY}))?\\) with the value you mean$`).exec(fix))) {
    const spellings = [m[1], m[2]].filter((k): k is string => k !== undefined);
    const snake = spellings.find((k) => k.includes('_') || !/[A-Z]/.test(k))!;
    const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const holder = objectAt(object, parent);
    const values = [holder[snake], holder[camel]];
    const out: Variant[] = [];
    for (const keep of spellings) {
      for (const [i, value] of values.entries()) {
        out.push(
          variant(`${keep}=${i === 0 ? 'snake' : 'camel'}'s value`, (o) => {
            const h = objectAt(o, parent);
            delete h[snake];
            delete h[camel];
            h[keep] = clone(value);
          }),
        );
      }
    }
    return out;
  }
  // EPP214: `write K as true or false, unquoted`, `write K as a duration string such as ...`, `write K as a string`, `write K as an object`,
  // `write K as a whole number from 0 to 4294967295`; K may be an entry of a list, `K[i]`.
  if ((m = new RegExp(`^write (${KEY})(?:\\[(\\d+)\\])? as (true or false, unquoted|a duration string such as .*|a string|a list|an object(?: with its "@type")?|a whole number from 0 to 4294967295)$`).exec(fix))) {
    const [, listKey, index, kind] = m;
    const written = at(object, path);
    if (index !== undefined) {
      const entry = kind === 'a string' ? (typeof written === 'number' || typeof written === 'boolean' ? String(written) : 'request.path') : kind.startsWith('an object') ? entryFor(listKey) : undefined;
      if (entry === undefined) return undefined;
      return [variant(`${listKey}[${index}]=${JSON.stringify(entry)}`, (o) => ((at(o, parent) as Json[])[Number(index)] = entry))];
    }
    const k = listKey;
    if (kind.startsWith('a whole number')) return [variant(`${k}=4194304`, (o) => (objectAt(o, parent)[k] = 4194304))];
    if (kind.startsWith('true')) return [variant(`${k}=${String(written) === 'true' || written === 1 || written === 'yes'}`, (o) => (objectAt(o, parent)[k] = String(written) === 'true' || written === 1 || written === 'yes'))];
    if (kind.startsWith('a duration')) return [variant(`${k}="${Number(written) || 1}s"`, (o) => (objectAt(o, parent)[k] = `${Number(written) || 1}s`))];
    if (kind === 'a string') return [variant(`${k}=string`, (o) => (objectAt(o, parent)[k] = String(written)))];
    if (kind === 'a list') return [variant(`${k}=[...]`, (o) => (objectAt(o, parent)[k] = [written as Json]))];
    return [variant(`${k}={...}`, (o) => (objectAt(o, parent)[k] = objectFor(k, written)))];
  }
  // EPP221 (TypedStruct): `write K in seconds, e.g. "0.2s"`.
  if ((m = new RegExp(`^write (${KEY}) in seconds, e\\.g\\. "([^"]+)"$`).exec(fix))) {
    const [, k, v] = m;
    return [variant(`${k}=${v}`, (o) => (objectAt(o, parent)[k] = v))];
  }
  // EPP216 on an entry that names none of the fields Envoy requires: `write K[i] with one of A, B, or remove it`, `write K with name and typed_config, or remove it`.
  if ((m = new RegExp(`^write (${KEY})(?:\\[(\\d+)\\])? with (one of \\w+(?:, \\w+)*|\\w+(?: and \\w+)*), or remove it$`).exec(fix))) {
    const [, k, index, wanted] = m;
    const first = wanted.startsWith('one of ') ? wanted.slice('one of '.length).split(', ')[0] : wanted.includes(' and ') ? undefined : wanted;
    const out = [variant('remove it', (o) => (index === undefined ? delete objectAt(o, parent)[k] : spliceAt(o, path)))];
    if (first !== undefined && Object.hasOwn(REQUIRED_ENTRY, first)) {
      out.push(variant(`${first}`, (o) => (index === undefined ? (objectAt(o, parent)[k] = { [first]: REQUIRED_ENTRY[first] }) : ((at(o, parent) as Json[])[Number(index)] = { [first]: REQUIRED_ENTRY[first] }))));
    }
    return out;
  }
  // EPP216.
  if (fix === 'write grpc_service: {envoy_grpc: {cluster_name: <EPP cluster>}}') {
    return [variant('grpc_service=envoy_grpc', (o) => (objectAt(o, parent)[lastKey!] = grpcToEpp()))];
  }
  if (fix === 'set envoy_grpc.cluster_name to the EPP cluster') {
    return [variant('cluster_name', (o) => (objectAt(o, path).cluster_name = EPP_CLUSTER))];
  }
  if (fix === 'write the authority as a plain host name, or remove it') {
    return [
      variant('plain authority', (o) => (objectAt(o, parent).authority = 'epp.llm-d.svc')),
      variant('no authority', (o) => delete objectAt(o, parent).authority),
    ];
  }
  if ((m = /^set (google_grpc\.\w+(?: and google_grpc\.\w+)*), or use envoy_grpc with the EPP cluster$/.exec(fix))) {
    const fields = m[1].split(' and ').map((f) => f.slice('google_grpc.'.length));
    return [
      variant('set google_grpc fields', (o) => {
        const g = objectAt(o, path);
        for (const f of fields) g[f] = f === 'target_uri' ? 'epp:9002' : 'epp';
      }),
      variant('envoy_grpc', (o) => {
        const grpc = objectAt(o, parent);
        delete grpc.google_grpc;
        grpc.envoy_grpc = { cluster_name: EPP_CLUSTER };
      }),
    ];
  }
  if ((m = /^set (http_uri\.\w+(?:, http_uri\.\w+)*)$/.exec(fix))) {
    const fields = m[1].split(', ').map((f) => f.slice('http_uri.'.length));
    const values: Record<string, Json> = { uri: 'http://epp:9002/', cluster: EPP_CLUSTER, timeout: '1s' };
    return [variant('set http_uri fields', (o) => { const u = objectAt(o, path); for (const f of fields) u[f] = values[f]; })];
  }
  // EPP217.
  if (fix === 'write overrides: {processing_mode: {...}} to change ext_proc on these routes, or disabled: true to turn it off there') {
    const perRoute = finding.path.endsWith('.disabled') ? parent : path;
    return [
      variant('overrides', (o) => { const p = objectAt(o, perRoute); delete p.disabled; p.overrides = { processing_mode: eppMode() }; }),
      variant('non-EPP: disabled: true', (o) => (objectAt(o, perRoute).disabled = true)),
    ];
  }
  // EPP217, EPP219 (a route FilterConfig; the path names the entry, or its config).
  if (fix.startsWith('to turn the filter on here, put its per-route config in config: {"@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, overrides: {processing_mode: {...}}}; to turn it off, disabled: true')) {
    const entry = lastKey === 'config' ? parent : path;
    return [
      variant('config: ExtProcPerRoute', (o) => (objectAt(o, entry).config = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: { processing_mode: eppMode() } })),
      variant('non-EPP: disabled: true', (o) => { const e = objectAt(o, entry); delete e.config; e.disabled = true; }),
    ];
  }
  // EPP221: oneofs.
  if (fix === 'keep one of the two: overrides to change ext_proc on these routes, or disabled: true to turn it off there') {
    return [
      variant('overrides', (o) => delete objectAt(o, parent).disabled),
      variant('non-EPP: disabled: true', (o) => { const p = objectAt(o, parent); delete p.overrides; p.disabled = true; }),
    ];
  }
  if (fix === 'keep one of the two: envoy_grpc with the EPP cluster') {
    return [variant('envoy_grpc', (o) => delete objectAt(o, path).google_grpc)];
  }
  // EPP218: `use grpc_service (...), or keep body modes NONE and trailer modes SKIP`; path: the processing_mode.
  if (fix.startsWith('use grpc_service (the EPP speaks gRPC on port 9002), or keep body modes NONE and trailer modes SKIP')) {
    return [
      variant('grpc_service', (o) => { const c = objectAt(o, parent); delete c.http_service; c.grpc_service = grpcToEpp(); }),
      variant('non-EPP: NONE and SKIP', (o) => {
        const mode = objectAt(o, path);
        for (const k of Object.keys(mode)) {
          if (/body_?mode$/i.test(k)) mode[k] = 'NONE';
          if (/trailer_?mode$/i.test(k)) mode[k] = 'SKIP';
        }
      }),
    ];
  }
  // EPP219.
  if ((m = /^write "@type": (type\.googleapis\.com\/\S+)$/.exec(fix))) {
    const type = m[1];
    return [variant('@type', (o) => (objectAt(o, finding.path.endsWith('@type') ? parent : path)['@type'] = type))];
  }
  // EPP223.
  if (fix.startsWith('write typed_config as a typed ExternalProcessor (')) {
    return [
      variant('typed ExternalProcessor', (o) => {
        const holder = objectAt(o, parent);
        const written = holder[lastKey!] as JsonMap;
        const value = typeof written.type_url === 'string' && written.type_url.endsWith('ExternalProcessor') && written.value !== null && typeof written.value === 'object' ? (written.value as JsonMap) : {};
        holder[lastKey!] = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', ...clone(value) };
      }),
    ];
  }
  // EPP301.
  if (fix.startsWith('add grpc_service: {envoy_grpc: {cluster_name: <ext_proc server cluster>}}')) {
    return [variant('add grpc_service', (o) => (objectAt(o, path, true).grpc_service = grpcToEpp()))];
  }
  if ((m = /^add typed_config: (\{"@type": \S+, grpc_service: \{envoy_grpc: \{cluster_name: <ext_proc server cluster>\}\}\}) \(an EPP speaks gRPC on port 9002, with processing_mode: (\{[^}]*\})\)$/.exec(fix))) {
    const typed = parse(m[1].replace('<ext_proc server cluster>', EPP_CLUSTER)) as JsonMap;
    const mode = parse(m[2]) as JsonMap;
    return [variant('typed_config, and the EPP mode', (o) => (objectAt(o, parent)[lastKey!] = { ...typed, processing_mode: mode }))];
  }
  if (fix.startsWith('keep the one your ext_proc server speaks')) {
    return [variant('keep grpc_service', (o) => delete objectAt(o, path).http_service)];
  }
  if (fix.startsWith('write grpc_service: {envoy_grpc: {cluster_name: <ext_proc server cluster>}} in this MERGE in place of http_service')) {
    return [variant('grpc_service for http_service', (o) => { const c = objectAt(o, path); delete c.http_service; c.grpc_service = grpcToEpp(); })];
  }
  // EPP302: `add typed_extension_protocol_options: {...HttpProtocolOptions: {..., explicit_http_config: {http2_protocol_options: {}}}}`; path: the cluster.
  if (fix.startsWith('add typed_extension_protocol_options: {envoy.extensions.upstreams.http.v3.HttpProtocolOptions: ')) {
    return [
      variant('typed HTTP/2', (o) => {
        const cluster = objectAt(o, path);
        const key = cluster.typedExtensionProtocolOptions !== undefined ? 'typedExtensionProtocolOptions' : 'typed_extension_protocol_options';
        const options = (cluster[key] ?? {}) as JsonMap;
        cluster[key] = { ...options, ...http2Options() };
      }),
    ];
  }
  // EPP322: each text names what to write where its path points (the cluster, circuit_breakers, thresholds, an entry),
  // in the keys istiod reads.
  if ((m = /^add (circuit_breakers|circuitBreakers): (\{thresholds: \[\{max_requests: \d+, max_pending_requests: \d+\}\]\}); \d+ is what istiod gives/.exec(fix))) {
    const [key, value] = [m[1], parse(m[2]) as JsonMap];
    return [variant('circuit_breakers', (o) => (objectAt(o, path)[key] = value))];
  }
  if ((m = /^add (thresholds): (\[\{max_requests: \d+, max_pending_requests: \d+\}\]) to (?:circuit_breakers|circuitBreakers); /.exec(fix))) {
    const [key, value] = [m[1], parse(m[2]) as Json];
    return [variant('thresholds', (o) => (objectAt(o, path)[key] = value))];
  }
  if ((m = /^add the entry (\{max_requests: \d+, max_pending_requests: \d+\}) to thresholds \(/.exec(fix))) {
    const value = parse(m[1]) as JsonMap;
    return [variant('a DEFAULT entry', (o) => (at(o, path) as Json[]).push(value))];
  }
  if ((m = /^set (max_requests|maxRequests): (\d+) and (max_pending_requests|maxPendingRequests): (\d+) in this thresholds entry; /.exec(fix))) {
    const [key, limit, pendingKey, pending] = [m[1], Number(m[2]), m[3], Number(m[4])];
    return [
      variant('max_requests', (o) => {
        const entry = objectAt(o, path, true);
        entry[key] = limit;
        entry[pendingKey] = pending;
      }),
    ];
  }
  // EPP303: `use type: STRICT_DNS for a hostname, or (for an EPP) write EPP_SERVICE_CLUSTER_IP and let the webhook fill in ...`; path: the address.
  if (fix.startsWith('use type: STRICT_DNS for a hostname, or (for an EPP) write ')) {
    const cluster = clusterPath(path);
    return [
      variant('STRICT_DNS', (o) => (objectAt(o, cluster).type = 'STRICT_DNS')),
      variant('placeholder', (o) => (objectAt(o, parent)[lastKey!] = PLACEHOLDER)),
    ];
  }
  // EPP310/EPP311: `write K as one of A (0), B (1), ...[, or remove it (...)]`: each one.
  if ((m = new RegExp(`^write (${KEY}) as one of (.*)$`).exec(fix))) {
    const [, k, list] = m;
    const names = [...list.matchAll(/([A-Z][A-Z0-9_]*) \(\d+\)/g)].map((x) => x[1]);
    const out = names.map((n) => variant(`${k}=${n}`, (o) => (objectAt(o, parent)[k] = n)));
    if (/, or remove it \(/.test(list)) out.push(variant(`remove ${k}`, (o) => delete objectAt(o, parent)[k]));
    return out;
  }
  // EPP310/EPP311 on type: `write K: STATIC with IP addresses (for an EPP, the EPP_SERVICE_CLUSTER_IP token), or STRICT_DNS with hostnames`.
  if ((m = new RegExp(`^write (${KEY}): STATIC with IP addresses \\(for an EPP, the ${PLACEHOLDER} token\\), or STRICT_DNS with hostnames$`).exec(fix))) {
    const k = m[1];
    return [
      variant('STATIC + placeholder', (o) => withEndpoints(objectAt(o, parent), k, 'STATIC', PLACEHOLDER)),
      variant('STRICT_DNS + Service name', (o) => withEndpoints(objectAt(o, parent), k, 'STRICT_DNS', EPP_HOSTNAME)),
    ];
  }
  // `write K: V (why)`: one value.
  if ((m = new RegExp(`^write (${KEY}): ([A-Z_]+) \\([^)]*\\)$`).exec(fix))) {
    const [, k, v] = m;
    return [variant(`${k}=${v}`, (o) => (objectAt(o, parent)[k] = v))];
  }
  // EPP311: `use type STATIC with the placeholder token[...], or STRICT_DNS with the Service name`; path: the cluster's type.
  if (/^use type STATIC with the placeholder token(?: \(the webhook fills in the ClusterIP\))?, or STRICT_DNS with the Service name$/.test(fix)) {
    return [
      variant('STATIC + placeholder', (o) => withEndpoints(objectAt(o, parent), lastKey ?? 'type', 'STATIC', PLACEHOLDER, true)),
      variant('STRICT_DNS + Service name', (o) => withEndpoints(objectAt(o, parent), lastKey ?? 'type', 'STRICT_DNS', EPP_HOSTNAME, true)),
    ];
  }
  if ((m = new RegExp(`^remove (${KEY}) \\(ROUND_ROBIN is the default\\)$`).exec(fix))) {
    return [variant(`remove ${m[1]}`, (o) => delete objectAt(o, parent)[m![1]])];
  }
  // EPP312.
  if (fix === "write the endpoint's address: for the EPP, the placeholder token (the webhook fills in the ClusterIP)") {
    return [variant('placeholder', (o) => (objectAt(o, parent)[lastKey!] = PLACEHOLDER))];
  }
  if (fix === 'give the cluster the name the ext_proc grpc_service.envoy_grpc.cluster_name uses') {
    return [variant('name', (o) => (objectAt(o, path).name = EPP_CLUSTER))];
  }
  // EPP313.
  if ((m = new RegExp(`^write (${KEY}): \\{name: envoy\\.transport_sockets\\.tls, typed_config: \\{"@type": type\\.googleapis\\.com/envoy\\.extensions\\.transport_sockets\\.tls\\.v3\\.UpstreamTlsContext\\}\\}$`).exec(fix))) {
    const k = m[1];
    return [variant('tls', (o) => (objectAt(o, parent)[k] = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } }))];
  }
  // EPP314: path: typed_extension_protocol_options.
  if (fix === 'use explicit_http_config: {http2_protocol_options: {}}, or add a TLS transport_socket') {
    const cluster = parent;
    return [
      variant('explicit HTTP/2', (o) => {
        const options = objectAt(o, [...path, 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
        delete options.auto_config;
        options.explicit_http_config = { http2_protocol_options: {} };
      }),
      variant('TLS', (o) => (objectAt(o, cluster).transport_socket = tlsSocket())),
    ];
  }
  // EPP315.
  if (fix === 'add explicit_http_config: {http2_protocol_options: {}}') {
    return [variant('explicit HTTP/2', (o) => (objectAt(o, path).explicit_http_config = { http2_protocol_options: {} }))];
  }
  if ((m = /^rename the key to (\S+)$/.exec(fix))) {
    const to = m[1];
    return [variant(`rename to ${to}`, (o) => renameKey(objectAt(o, parent), lastKey!, to))];
  }
  // EPP316.
  if ((m = /^remove disable_clear_route_cache \(deprecated\) and keep route_cache_action \w+, or set route_cache_action: DEFAULT$/.exec(fix))) {
    return [
      variant('remove disable_clear_route_cache', (o) => { const c = objectAt(o, parent); delete c.disable_clear_route_cache; delete c.disableClearRouteCache; }),
      variant('route_cache_action DEFAULT', (o) => (objectAt(o, parent)[lastKey!] = 'DEFAULT')),
    ];
  }
  // EPP230: the route patch it writes out, in YAML's flow style.
  if (finding.code === 'EPP230') return applyRouteOverrideFix(object, finding, path, variant);
  // EPP307 on processing_mode: `write K as a mapping, e.g. {...}`.
  if ((m = new RegExp(`^write (${KEY}) as a mapping, e\\.g\\. (\\{.*\\})$`).exec(fix))) {
    const [, k, example] = m;
    return [variant(`${k}=example`, (o) => (objectAt(o, parent)[k] = parse(example) as JsonMap))];
  }
  // EPP208: `write A: "true" (...) or "false" (...), quoted`; EPP209: `remove A, or stop using TOKEN in this EnvoyFilter`.
  if ((m = /^write (epp-webhook\.io\/epp): "true" \(.*\) or "false" \(.*\), quoted$/.exec(fix))) {
    return ['true', 'false'].map((v) => variant(`${v === 'false' ? 'non-EPP: ' : ''}${m![1]}=${v}`, (o) => (objectAt(o, parent)[lastKey!] = v)));
  }
  if ((m = /^remove (epp-webhook\.io\/epp), or stop using (\w+) in this EnvoyFilter$/.exec(fix))) {
    return [variant(`remove ${m[1]}`, (o) => delete objectAt(o, parent)[lastKey!])];
  }
  // Warnings.
  // EPP206: path: the ExternalProcessor.
  if ((m = new RegExp(`^set (${KEY}): (\\{[^}]*\\}) here, or that processing_mode in ExtProcPerRoute overrides for the inference routes \\(an HTTP_ROUTE patch of typed_per_filter_config\\)$`).exec(fix))) {
    const [, k, mode] = m;
    return [
      variant('send here', (o) => (objectAt(o, path)[k] = parse(mode) as JsonMap)),
      variant('per-route overrides', (o) => (o.spec as { configPatches: Json[] }).configPatches.push(inferenceRoutePatch({ overrides: { processing_mode: parse(mode) as JsonMap } }))),
    ];
  }
  // EPP206 on a route override: path: the overrides.
  if ((m = /^set processing_mode: (\{[^}]*\}) in the override, as examples\/envoyfilter-placeholder\.yaml does$/.exec(fix))) {
    const mode = m[1];
    return [variant('the mode in the override', (o) => (objectAt(o, path).processing_mode = parse(mode) as JsonMap))];
  }
  // EPP206 on a route override that names neither cluster nor mode: path: the overrides.
  if ((m = /^set grpc_service: \{envoy_grpc: \{cluster_name: ([^}]*)\}\} and processing_mode: (\{[^}]*\}) in the override, as examples\/envoyfilter-placeholder\.yaml does$/.exec(fix))) {
    const cluster = m[1] === '<EPP cluster>' ? EPP_CLUSTER : m[1];
    const mode = m[2];
    return [
      variant('the cluster and the mode in the override', (o) => {
        const overrides = objectAt(o, path);
        overrides.grpc_service = { envoy_grpc: { cluster_name: cluster } };
        overrides.processing_mode = parse(mode) as JsonMap;
      }),
    ];
  }
  // EPP205 on a MERGE into istiod's filter: `remove K from this MERGE (...) and, to fail closed, per InferencePool route add {...} (...); or set EPP205 to off ...`.
  if ((m = new RegExp(`^remove (${KEY}) from this MERGE \\((?:it changes nothing|istiod's filter sets it true itself)\\) and, to fail closed, per InferencePool route add \\{applyTo: HTTP_ROUTE`).exec(fix))) {
    const k = m[1];
    const merge = objectAt(object, parent);
    const patch = writtenPatch(flowMapping(fix, fix.indexOf('{applyTo: HTTP_ROUTE')), (merge.processingMode ?? merge.processing_mode) as Json | undefined);
    return [
      variant('remove it, and the route override', (o) => {
        delete objectAt(o, parent)[k];
        (o.spec as { configPatches: Json[] }).configPatches.push(patch);
      }),
    ];
  }
  // EPP305: path: the ExternalProcessor (or the overrides).
  if ((m = /^add an applyTo: CLUSTER patch \(operation: ADD\) named (.*?), or use Istio's cluster of the server's Service, outbound\|<port>\|\|<service>\.<namespace>\.svc\.cluster\.local$/.exec(fix))) {
    const name = m[1];
    return [
      variant(`add cluster ${JSON.stringify(name)}`, (o) => (o.spec as { configPatches: Json[] }).configPatches.push({ applyTo: 'CLUSTER', match: { context: 'GATEWAY' }, patch: { operation: 'ADD', value: { ...eppClusterValue(), name } } })),
      variant("Istio's cluster", (o) => {
        const c = objectAt(o, path);
        c.grpc_service = { envoy_grpc: { cluster_name: 'outbound|9002||gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local' } };
        delete c.grpcService;
      }),
    ];
  }
  if ((m = /^set port_value to the Service's ext_proc port \(the EPP serves gRPC on (\d+)\)$/.exec(fix))) {
    const port = Number(m[1]);
    return [variant(`port ${port}`, (o) => (objectAt(o, parent).port_value = port))];
  }
  if (fix === 'use operation: INSERT_BEFORE with subFilter envoy.filters.http.router to add the filter') {
    const patch = path.slice(0, path.indexOf('patch'));
    return [
      variant('INSERT_BEFORE router', (o) => {
        const p = objectAt(o, patch);
        (p.patch as JsonMap).operation = 'INSERT_BEFORE';
        objectAt(p, ['match', 'listener', 'filterChain', 'filter', 'subFilter'], true).name = 'envoy.filters.http.router';
      }),
    ];
  }
  // EPP317: the later of two CLUSTER ADDs of one name (the finding's path is its name): drop it, or rename it.
  if (/^keep one CLUSTER ADD per name: write the settings you want into configPatches\[\d+\] and drop this patch, or give this cluster another name \(and the cluster_name that calls it\)$/.test(fix)) {
    return [
      variant('drop the later patch', (o) => (o.spec as { configPatches: Json[] }).configPatches.splice(path[2] as number, 1)),
      variant('rename it', (o) => (objectAt(o, parent)[lastKey!] = `${String(at(o, path))}-b`)),
    ];
  }
  // EPP318: a CLUSTER ADD named as istiod's own outbound cluster (the finding's path is its name): rename it everywhere
  // the name stands (the cluster, its load_assignment, the cluster_name calling it), or drop the patch and keep the name.
  if ((m = /^give this cluster a name of your own \(as (epp-cluster)\), in its load_assignment\.cluster_name and in the cluster_name that calls it; or drop this CLUSTER ADD and call istiod's cluster (outbound\|[^ ]+) \(measured: 200 with the EPP serving plaintext and its Service port declaring appProtocol: http2; against an EPP serving TLS it needs TLS from a DestinationRule, not measured\)$/.exec(fix))) {
    const [, own, istiods] = m;
    const renameAll = (node: Json): Json =>
      node === istiods ? own : Array.isArray(node) ? node.map(renameAll) : node !== null && typeof node === 'object' ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, renameAll(v)])) : node;
    return [
      variant('rename it', (o) => (o.spec = renameAll(o.spec as Json))),
      variant("drop the ADD, call istiod's cluster", (o) => (o.spec as { configPatches: Json[] }).configPatches.splice(path[2] as number, 1)),
    ];
  }
  if (fix.startsWith('add transport_socket {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext}}, or run the EPP with --secure-serving=false')) {
    return [variant('TLS', (o) => (objectAt(o, path).transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } }))];
  }
  return undefined;
}

/** An HTTP_ROUTE MERGE of `perRoute` (an ExtProcPerRoute's fields) on an InferencePool rule's route, named as istiod names it. */
export function inferenceRoutePatch(perRoute: JsonMap): JsonMap {
  return {
    applyTo: 'HTTP_ROUTE',
    match: { context: 'GATEWAY', routeConfiguration: { vhost: { route: { name: 'llm-d-inference-scheduler.llm-route.0' } } } },
    patch: { operation: 'MERGE', value: { typed_per_filter_config: { 'envoy.filters.http.ext_proc': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', ...perRoute } } } },
  };
}

function eppClusterValue(): JsonMap {
  return {
    type: 'STATIC',
    connect_timeout: '2s',
    typed_extension_protocol_options: http2Options(),
    transport_socket: tlsSocket(),
    load_assignment: { cluster_name: EPP_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: PLACEHOLDER, port_value: 9002 } } } }] }] },
  };
}

/** What "write K as an object" can only mean for the fields the corpus gets wrong. */
function objectFor(key: string, written: Json | undefined): Json {
  if (/^grpc_?service$/i.test(key)) return grpcToEpp();
  if (/^processing_?mode$/i.test(key)) return eppMode();
  if (key === 'overrides') return { processing_mode: eppMode() };
  // Messages whose every field is optional: the empty one is the least a user writes.
  if (/^(mutation_?rules|forward_?rules|filter_?metadata|metadata_?options|retry_?policy|circuit_?breakers)$/i.test(key)) return {};
  return { value: written ?? null };
}

/** An entry of the list `key` a user writes where the fix asks for an object (with its "@type"). */
function entryFor(key: string): Json | undefined {
  if (/^(grpc_)?initial_?metadata$/i.test(key) || /^grpcInitialMetadata$/.test(key)) return { key: 'x-epp', value: '1' };
  if (/^allowed_?override_?modes$/i.test(key)) return eppMode();
  if (/^call_?credentials$/i.test(key)) return { google_compute_engine: {} };
  if (/^request_?headers_?to_?add$/i.test(key)) return { header: { key: 'x-epp', value: '1' } };
  return undefined;
}

/** What a user writes to give an entry the field Envoy requires (EPP216): the first a fix lists, or a header. */
const REQUIRED_ENTRY: Record<string, Json> = {
  ssl_credentials: {},
  access_token: 'token',
  header: { key: 'x-epp', value: '1' },
};

/** The cluster holding a socket address path (`...patch.value.load_assignment.endpoints[0]...`). */
function clusterPath(path: readonly Segment[]): Segment[] {
  const i = path.indexOf('value');
  return path.slice(0, i + 1) as Segment[];
}

const EPP_HOSTNAME = 'gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local';

/**
 * `type` set, and the endpoints at `address`: rewritten where the fix names the address to write (`rewrite`), else only
 * those a type refuses (a hostname under STATIC); a cluster without endpoints gets one, on port 9002.
 */
function withEndpoints(cluster: JsonMap, key: string, type: string, address: string, rewrite = false): void {
  cluster[key] = type;
  const sockets = socketsOf(cluster);
  if (sockets.length === 0) {
    cluster.load_assignment = { cluster_name: String(cluster.name ?? EPP_CLUSTER), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: 9002 } } } }] }] };
    return;
  }
  for (const socket of sockets) {
    const written = String(socket.address ?? '');
    const isAddress = /^[\d.]+$|:/.test(written) || written.includes(PLACEHOLDER);
    if (rewrite || (type === 'STATIC' && !isAddress)) socket.address = address;
  }
}

function socketsOf(cluster: JsonMap): JsonMap[] {
  const out: JsonMap[] = [];
  const walk = (node: Json) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'socket_address' || k === 'socketAddress') && v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(v);
      else walk(v);
    }
  };
  walk(cluster.load_assignment ?? cluster.loadAssignment ?? null);
  return out;
}

/** The first `{...}` of `text` from `start`, braces balanced. */
function flowMapping(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`no balanced mapping in ${text.slice(start)}`);
}

/** A patch written out in a fix, its placeholders given the values a user gives them. */
function writtenPatch(text: string, processingMode: Json | undefined): JsonMap {
  const filled = text
    .replaceAll(INFERENCE_ROUTE_NAME, 'llm-d-inference-scheduler.llm-route.0')
    .replaceAll('<EPP cluster>', EPP_CLUSTER)
    .replaceAll("<the EPP cluster istiod's override names, outbound|<port>||<EPP Service>.<namespace>.svc.cluster.local>", 'outbound|9002||gaie-inference-scheduling-epp.llm-d-inference-scheduler.svc.cluster.local')
    .replaceAll("<this MERGE's>", 'MODE')
    .replaceAll("<this filter's>", 'MODE')
    .replaceAll("<this entry's>", 'MODE');
  const patch = parse(filled) as JsonMap;
  const fill = (node: Json): Json => {
    if (node === 'MODE') return structuredClone(processingMode ?? eppMode());
    if (Array.isArray(node)) return node.map(fill);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    return node;
  };
  return fill(patch) as JsonMap;
}

function applyRouteOverrideFix(object: JsonMap, finding: Finding, path: Segment[], variant: (name: string, edit: (o: JsonMap) => void) => Variant): Variant[] | undefined {
  const fix = finding.fix;
  const patchIndex = path[2] as number;
  const site = at(object, path) as JsonMap | undefined;
  const patches = (o: JsonMap) => (o.spec as { configPatches: Json[] }).configPatches;
  const modeOf = (config: JsonMap | undefined): Json | undefined => {
    if (config === undefined) return undefined;
    // As istiod reads it: the lowerCamelCase spelling where both are written.
    const inner = ((config.overrides ?? config.value ?? config) as JsonMap);
    return (inner.processingMode ?? inner.processing_mode) as Json | undefined;
  };
  let m: RegExpExecArray | null;
  if ((m = /^(?:per InferencePool route add|set the override per InferencePool route instead,) \{applyTo: HTTP_ROUTE/.exec(fix))) {
    const patch = writtenPatch(flowMapping(fix, fix.indexOf('{applyTo: HTTP_ROUTE')), modeOf(site));
    const out = [variant('add the route patch', (o) => patches(o).push(patch))];
    if (/drop this HTTP_FILTER patch/.test(fix)) out.push(variant('add the route patch, drop the HTTP_FILTER patch', (o) => { patches(o).splice(patchIndex, 1); patches(o).push(patch); }));
    if (fix.startsWith('set the override per InferencePool route instead')) out.push(variant('drop the VIRTUAL_HOST patch for the route patch', (o) => { patches(o).splice(patchIndex, 1); patches(o).push(patch); }));
    return out;
  }
  if ((m = /^in that override name the EPP cluster, overrides: \{grpc_service: \{envoy_grpc: \{cluster_name: ([^}]*)\}\}, \.\.\.\}, and drop this HTTP_FILTER patch/.exec(fix))) {
    const cluster = m[1] === '<EPP cluster>' ? EPP_CLUSTER : m[1];
    const overrideAt = overridePaths(object).at(-1)!;
    return [
      variant('name the cluster, drop the filter', (o) => {
        objectAt(o, [...overrideAt, 'overrides']).grpc_service = { envoy_grpc: { cluster_name: cluster } };
        patches(o).splice(patchIndex, 1);
      }),
      variant('take failure_mode_allow: false out', (o) => {
        const overrides = objectAt(o, [...overrideAt, 'overrides']);
        delete overrides.failure_mode_allow;
        delete overrides.failureModeAllow;
      }),
    ];
  }
  if ((m = /^name the EPP cluster in the override, overrides: \{grpc_service: \{envoy_grpc: \{cluster_name: ([^}]*)\}\}, \.\.\.\}/.exec(fix))) {
    const cluster = m[1] === '<EPP cluster>' ? EPP_CLUSTER : m[1];
    const out = [variant('name the cluster', (o) => (objectAt(o, [...path, 'overrides']).grpc_service = { envoy_grpc: { cluster_name: cluster } }))];
    // The alternative beside a MERGE into istiod's filter that names no service: name the cluster in that MERGE.
    const inMerge = /, or in the HTTP_FILTER MERGE at configPatches\[(\d+)\]: grpc_service: \{envoy_grpc: \{cluster_name: ([^}]*)\}\}/.exec(fix);
    if (inMerge) {
      const mergeAt = ['spec', 'configPatches', Number(inMerge[1]), 'patch', 'value'];
      const mergeCluster = inMerge[2] === '<EPP cluster>' ? EPP_CLUSTER : inMerge[2];
      out.push(
        variant('name the cluster in the MERGE', (o) => {
          const value = objectAt(o, mergeAt);
          objectAt(value, ['typedConfig' in value ? 'typedConfig' : 'typed_config'], true).grpc_service = { envoy_grpc: { cluster_name: mergeCluster } };
        }),
      );
    }
    return out;
  }
  return undefined;
}

/** Where the ExtProcPerRoute of each HTTP_ROUTE MERGE under istiod's key is. */
function overridePaths(object: JsonMap): Segment[][] {
  const out: Segment[][] = [];
  const patches = ((object.spec as { configPatches?: Json[] }).configPatches ?? []) as JsonMap[];
  for (const [i, p] of patches.entries()) {
    const value = (p.patch as JsonMap | undefined)?.value as JsonMap | undefined;
    const typed = value?.typed_per_filter_config as JsonMap | undefined;
    if (p.applyTo === 'HTTP_ROUTE' && typed?.['envoy.filters.http.ext_proc'] !== undefined) out.push(['spec', 'configPatches', i, 'patch', 'value', 'typed_per_filter_config', 'envoy.filters.http.ext_proc']);
  }
  return out;
}
