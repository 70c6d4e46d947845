/**
 * A port the webhook wrote for EPP_SERVICE_PORT: the number under `port_value`, or its digits inside a string
 * (`10.96.0.5:9002`, a header value). In a string it is found as a number of its own (`9002` is in `host:9002`, not in
 * `host:19002`): after a colon and ending the host-and-port (`10.0.0.10:10`, `[fd00:9002::1]:9002`: not the address's
 * digits), else anywhere; and only where it stands exactly once that way, since which one the webhook wrote cannot be
 * told otherwise.
 */
function portStart(text: string, port: number): number | undefined {
  const digits = String(port);
  const runs = [...text.matchAll(/\d+/g)].filter((run) => run[0] === digits).map((run) => run.index);
  const afterColon = runs.filter((at) => text[at - 1] === ':' && !/[0-9A-Za-z:.]/.test(text[at + digits.length] ?? ''));
  const candidates = afterColon.length > 0 ? afterColon : runs;
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** Whether `value` holds `port` as the webhook writes it. */
export function holdsPort(value: unknown, port: number): boolean {
  return value === port || (typeof value === 'string' && portStart(value, port) !== undefined);
}

/** `value` with the port `from` written as `to`; undefined where it does not hold `from` as the webhook writes it. */
export function rewritePort(value: unknown, from: number, to: number): number | string | undefined {
  if (value === from) return to;
  if (typeof value !== 'string') return undefined;
  const at = portStart(value, from);
  return at === undefined ? undefined : `${value.slice(0, at)}${to}${value.slice(at + String(from).length)}`;
}
