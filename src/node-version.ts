/**
 * Why this Node.js cannot run epp-webhook, from package.json's `engines.node` (`>=22.19.0`); undefined when it can (or
 * the range is not one this reads). On an older Node the libraries fail at import or at first use with errors that do
 * not say why (on Node 20: "Cannot read properties of undefined (reading 'toISOString')").
 */
export function unsupportedNode(version: string, range: string | undefined): string | undefined {
  const wanted = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(range ?? '');
  if (wanted === null) return undefined;
  const have = version.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const [a, b] = [have[i] ?? 0, Number(wanted[i + 1])];
    if (a > b) return undefined;
    if (a < b) return `needs Node.js ${wanted.slice(1).join('.')} or later (this is ${version}); install a current LTS, e.g. Node.js 24`;
  }
  return undefined;
}
