import {
  eppMode,
  externalProcessor,
  extProcPerRoute,
  withFilter,
  withPerRoute,
  type Json,
  type JsonMap,
} from './building-blocks.ts';
import type { CorpusEntry } from './corpus-entry.ts';

const BODY_FIELDS = ['request_body_mode', 'response_body_mode'];
const MODE_FIELDS = ['request_header_mode', 'response_header_mode', 'request_body_mode', 'response_body_mode', 'request_trailer_mode', 'response_trailer_mode'];
const BODY_NAMES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'];
const HEADER_NAMES = ['DEFAULT', 'SEND', 'SKIP'];

/** Every way a user might write a header or trailer mode: names, case variants, numbers, strings of numbers, other enums, typos. */
const HEADER_SPELLINGS: Json[] = [
  ...HEADER_NAMES,
  'send', 'Send', 'skip', 'Skip', 'default', ' SEND', 'SEND ', 'SENDD', 'SKIPPED', '',
  0, 1, 2, 3, -1, 99, 1.5,
  '0', '1', '2', '3', '01', '1.0', '0x1',
  'NONE', 'FULL_DUPLEX_STREAMED', 'BUFFERED',
  true, false, null, ['SEND'], { value: 'SEND' },
];

const BODY_SPELLINGS: Json[] = [
  ...BODY_NAMES,
  'none', 'None', 'full_duplex_streamed', 'Full_Duplex_Streamed', 'full-duplex-streamed', 'FullDuplexStreamed', 'buffered', 'Buffered', 'streamed', 'grpc',
  'FULL_DUPLEX', 'FULL_DUPLEX_STREAMING', 'BUFFER', 'NONE ', '',
  0, 1, 2, 3, 4, 5, 6, 7, -1, 1.5, 4.0000001,
  '0', '1', '2', '3', '4', '5', '6', '7', '-1', '04',
  'SEND', 'SKIP', 'DEFAULT',
  true, false, null, ['FULL_DUPLEX_STREAMED'], { value: 4 },
];

const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const tag = (value: Json) => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

/** A mode with `field` set to `value` (or left out when undefined), written under `key`. */
function modeWith(field: string, key: string, value: Json | undefined): JsonMap {
  const mode = eppMode();
  delete mode[field];
  if (value !== undefined) mode[key] = value;
  return mode;
}

/** The same processing_mode placed in the filter and in a per-route override. */
function inBothPlaces(family: string, name: string, mode: Json, filterExtras: JsonMap = {}): CorpusEntry[] {
  return [
    { id: `${family}/filter/${name}`, family, object: withFilter(`c-${family}`, externalProcessor({ processing_mode: mode, ...filterExtras })) },
    { id: `${family}/per-route/${name}`, family, object: withPerRoute(`c-${family}`, extProcPerRoute({ overrides: { processing_mode: mode } })) },
  ];
}

/** Each mode field with every spelling, under its snake_case and its camelCase key. */
export function modeValueSpellings(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  for (const field of MODE_FIELDS) {
    const spellings = BODY_FIELDS.includes(field) ? BODY_SPELLINGS : HEADER_SPELLINGS;
    for (const value of spellings) {
      for (const key of [field, camel(field)]) entries.push(...inBothPlaces('mode-value', `${key}=${tag(value)}`, modeWith(field, key, value)));
    }
  }
  return entries;
}

/** Body mode by trailer mode, in each direction: the FULL_DUPLEX_STREAMED + trailer rule and its neighbours. */
export function bodyTrailerPairs(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const trailers: (Json | undefined)[] = [undefined, 'DEFAULT', 'SEND', 'SKIP', 'Send', 2];
  for (const direction of ['request', 'response']) {
    for (const body of BODY_NAMES) {
      for (const trailer of trailers) {
        const mode = { ...eppMode(), [`${direction}_body_mode`]: body };
        delete mode[`${direction}_trailer_mode`];
        if (trailer !== undefined) mode[`${direction}_trailer_mode`] = trailer;
        entries.push(...inBothPlaces('body-trailer', `${direction}:${body}+${trailer === undefined ? 'unset' : tag(trailer)}`, mode));
      }
    }
  }
  return entries;
}

/** Whole modes: which headers, bodies and trailers go to the processor. */
export function modeCombinations(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  for (const requestHeader of ['SEND', 'SKIP', undefined]) {
    for (const requestBody of BODY_NAMES) {
      for (const requestTrailer of ['SEND', 'SKIP']) {
        for (const responseBody of ['NONE', 'FULL_DUPLEX_STREAMED', 'BUFFERED']) {
          const mode: JsonMap = { request_body_mode: requestBody, request_trailer_mode: requestTrailer, response_body_mode: responseBody };
          if (requestHeader !== undefined) mode.request_header_mode = requestHeader;
          if (responseBody === 'FULL_DUPLEX_STREAMED') mode.response_trailer_mode = 'SEND';
          const name = `rh=${requestHeader ?? 'unset'},rb=${requestBody},rt=${requestTrailer},pb=${responseBody}`;
          entries.push(...inBothPlaces('mode-combination', name, mode));
        }
      }
    }
  }
  entries.push(...inBothPlaces('mode-combination', 'empty-mode', {}));
  entries.push(...inBothPlaces('mode-combination', 'all-skip', { request_header_mode: 'SKIP', response_header_mode: 'SKIP' }));
  return entries;
}

/** One field written twice, snake_case and camelCase, with different values, in both key orders. */
export function duplicateKeys(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const pairs = (field: string): [Json, Json][] =>
    BODY_FIELDS.includes(field)
      ? [['NONE', 'FULL_DUPLEX_STREAMED'], ['FULL_DUPLEX_STREAMED', 'NONE'], ['BUFFERED', 'FULL_DUPLEX_STREAMED'], ['FULL_DUPLEX_STREAMED', 'BUFFERED'], ['FULL_DUPLEX_STREAMED', 'FULL_DUPLEX_STREAMED'], ['FULL_DUPLEX_STREAMED', 'bogus'], ['bogus', 'FULL_DUPLEX_STREAMED']]
      : [['SEND', 'SKIP'], ['SKIP', 'SEND'], ['SEND', 'SEND'], ['SEND', 'bogus'], ['bogus', 'SEND']];
  for (const field of MODE_FIELDS) {
    for (const [snakeValue, camelValue] of pairs(field)) {
      for (const order of ['snake-first', 'camel-first']) {
        const mode = eppMode();
        delete mode[field];
        if (order === 'snake-first') Object.assign(mode, { [field]: snakeValue, [camel(field)]: camelValue });
        else Object.assign(mode, { [camel(field)]: camelValue, [field]: snakeValue });
        entries.push(...inBothPlaces('duplicate-key', `${field}:${order}:snake=${tag(snakeValue)},camel=${tag(camelValue)}`, mode));
      }
    }
  }
  // processing_mode itself twice: the EPP mode under one key, a mode that sends nothing under the other.
  const off = { request_header_mode: 'SKIP', response_header_mode: 'SKIP', request_body_mode: 'BUFFERED' };
  for (const [snake, camelKey] of [['processing_mode', 'processingMode']]) {
    for (const [first, second] of [[eppMode(), off], [off, eppMode()]]) {
      const name = `${snake}:snake=${first === off ? 'off' : 'epp'},camel=${second === off ? 'off' : 'epp'}`;
      const config = externalProcessor({ processing_mode: undefined });
      Object.assign(config, { [snake]: first, [camelKey]: second });
      entries.push({ id: `duplicate-key/filter/${name}`, family: 'duplicate-key', object: withFilter('c-duplicate-key', config) });
    }
  }
  return entries;
}

/** Misspelt mode keys: Istio drops them, so the field keeps its default. */
export function misspeltModeKeys(): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const typos = (field: string) => new Set([
    field.slice(0, -1),
    `${field}s`,
    field.replace(/_mode$/, ''),
    field.replaceAll('_', '-'),
    field.replaceAll('_', ''),
    field.toUpperCase(),
    camel(field).replace(/^./, (c) => c.toUpperCase()),
    camel(field).toLowerCase(),
    field.replace('request', 'req').replace('response', 'resp'),
  ]);
  for (const field of MODE_FIELDS) {
    const value = BODY_FIELDS.includes(field) ? 'FULL_DUPLEX_STREAMED' : 'SEND';
    for (const typo of typos(field)) entries.push(...inBothPlaces('misspelt-key', `${typo}`, modeWith(field, typo, value)));
  }
  return entries;
}
