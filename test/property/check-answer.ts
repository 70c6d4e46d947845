/** What every answer of /mutate and /validate must be, whatever was sent. */

export interface Answer {
  status: number;
  text: string;
}

/**
 * Returns what is wrong with an answer, or undefined: a 200 AdmissionReview v1 echoing the uid (when the request
 * had one), `allowed` a boolean, a denial with a 4xx code (503 only for the temporary EPP104) and a message whose
 * findings carry codes, a patch that decodes to a JSON Patch; or a 4xx with a JSON reason. Never a 5xx.
 */
export function answerProblem(answer: Answer, sentUid: unknown): string | undefined {
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}`;
  }
  if (answer.status >= 400 && answer.status < 500) {
    if (answer.status === 404) return 'an admission path answered 404';
    return typeof body?.reason === 'string' && body.reason !== '' ? undefined : `status ${answer.status} without a reason: ${answer.text.slice(0, 200)}`;
  }
  if (answer.status !== 200) return `status ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (body?.apiVersion !== 'admission.k8s.io/v1' || body?.kind !== 'AdmissionReview') return `not an AdmissionReview v1: ${answer.text.slice(0, 200)}`;
  const response = body.response;
  if (typeof response !== 'object' || response === null) return 'no response';
  if (typeof sentUid === 'string' && response.uid !== sentUid) return `uid ${JSON.stringify(response.uid)} instead of ${JSON.stringify(sentUid)}`;
  if (typeof response.allowed !== 'boolean') return 'allowed is not a boolean';
  if (!response.allowed) {
    const code = response.status?.code;
    const message: unknown = response.status?.message;
    if (typeof message !== 'string') return 'a denial without a message';
    const temporary = code === 503 && /\[EPP104\]/.test(message);
    if (!temporary && !(code >= 400 && code < 500)) return `a denial with code ${code}: ${message.slice(0, 300)}`;
    const lines = message.split('\n');
    if (lines.length < 2 || !lines.slice(1).every((l) => /^\[EPP\d{3}\] /.test(l))) return `a denial message without coded findings: ${message.slice(0, 300)}`;
    if (response.patch !== undefined) return 'a denial with a patch';
  }
  if (response.patch !== undefined) {
    if (response.patchType !== 'JSONPatch') return `patchType ${response.patchType}`;
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
    } catch {
      return 'a patch that is not base64 JSON';
    }
    if (!Array.isArray(ops) || ops.length === 0 || !ops.every((op) => typeof op?.op === 'string' && typeof op?.path === 'string')) return 'a patch that is not a JSON Patch';
  }
  if (response.warnings !== undefined && !(Array.isArray(response.warnings) && response.warnings.every((w: unknown) => typeof w === 'string'))) return 'warnings are not strings';
  return undefined;
}
