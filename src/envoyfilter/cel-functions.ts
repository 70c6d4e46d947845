/**
 * The calls Envoy's CEL can build an expression with when it loads an ext_proc filter: cel-cpp's built-in functions
 * as Envoy registers them (string conversion off, regex on) and its regex extension. Each name maps to the argument
 * counts it takes, a receiver counted as the first argument. Any other call Envoy refuses on load ("No overload
 * found in reference resolve step"). Every name, call style and count up to four was asked of Envoy 1.40, and the
 * oracle's corpus holds each one it loads and a refusal of every kind (test/oracle/corpus/pgv-families.ts).
 */
/** Called either way: `size(x)` or `x.size()`. */
const BOTH_STYLES: [string, number[]][] = [
  ['size', [1]],
  ['contains', [2]],
  ['startsWith', [2]],
  ['endsWith', [2]],
  ['matches', [2]],
];
const CALLED_BY_NAME = new Map<string, readonly number[]>([
  ...BOTH_STYLES,
  ['int', [1]],
  ['uint', [1]],
  ['double', [1]],
  ['bytes', [1]],
  ['bool', [1]],
  ['timestamp', [1]],
  ['duration', [1]],
  ['dyn', [1]],
  ['type', [1]],
  ['has', [1]],
  ['re.extract', [3]],
  ['re.capture', [2]],
  ['re.captureN', [2]],
]);

const TIME_PARTS = ['getFullYear', 'getMonth', 'getDayOfYear', 'getDayOfMonth', 'getDate', 'getDayOfWeek', 'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds'];
const CALLED_ON_VALUE = new Map<string, readonly number[]>([
  ...BOTH_STYLES,
  ...TIME_PARTS.map((name): [string, number[]] => [name, [1, 2]]),
]);

/**
 * Why Envoy's CEL has no such call, or undefined when it has. `qualifiedTarget` is the receiver written as a plain
 * dotted name (`re` in `re.extract(...)`): Envoy then looks for the whole name as a function first.
 */
export function unknownCelCall(name: string, args: number, receiver: { qualifiedTarget: string | undefined } | undefined): string | undefined {
  if (receiver === undefined) {
    if (CALLED_BY_NAME.get(name)?.includes(args)) return undefined;
    return `Envoy's CEL has no ${name}() of ${count(args)}${hint(name, CALLED_BY_NAME, CALLED_ON_VALUE.get(name)?.includes(args + 1) ? `x.${name}(…)` : undefined)}`;
  }
  const qualified = receiver.qualifiedTarget === undefined ? undefined : `${receiver.qualifiedTarget}.${name}`;
  if (qualified !== undefined && CALLED_BY_NAME.get(qualified)?.includes(args)) return undefined;
  if (CALLED_ON_VALUE.get(name)?.includes(args + 1)) return undefined;
  if (qualified !== undefined && CALLED_BY_NAME.has(qualified)) return `Envoy's CEL has no ${qualified}() of ${count(args)}${hint(qualified, CALLED_BY_NAME, undefined)}`;
  return `Envoy's CEL has no .${name}() of ${count(args)} on a value${hint(name, CALLED_ON_VALUE, CALLED_BY_NAME.get(name)?.includes(args + 1) ? `${name}(x, …)` : undefined)}`;
}

function count(args: number): string {
  return args === 1 ? '1 argument' : `${args} arguments`;
}

function hint(name: string, table: ReadonlyMap<string, readonly number[]>, otherStyle: string | undefined): string {
  if (otherStyle !== undefined) return ` (it is called as ${otherStyle})`;
  const counts = table.get(name);
  if (counts !== undefined) return ` (it takes ${counts.map((n) => n - (table === CALLED_ON_VALUE ? 1 : 0)).join(' or ')})`;
  if (name === 'string') return ' (string conversion is not enabled in Envoy\'s CEL)';
  return '';
}
