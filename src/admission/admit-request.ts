import { ANNOTATIONS, annotationsOf, objectName } from '../annotations.ts';
import type { AdmissionRequest } from './admission-review.ts';
import { mutateObject, validateObject, type CoreDeps } from './admit-object.ts';
import { finishesDeletion } from './finishing-deletion.ts';
import { handledKind, type HandledKind } from './handled-kinds.ts';
import { knownEppServices } from './known-epp-services.ts';
import { withLookupDeadline } from './lookup-deadline.ts';
import { printable } from './printable.ts';
import { FIELD_MANAGER } from '../reconcile/field-manager.ts';
import { verdictFor, type Verdict } from './verdict.ts';

export type Endpoint = 'mutate' | 'validate';

export interface Admission {
  verdict: Verdict;
  /** Undefined when the request was passed through untouched (other kind, DELETE, CONNECT, a deletion finishing). */
  kind: HandledKind | undefined;
  substitutions: number;
}

const PASS: Verdict = { allowed: true, warnings: [], findings: [] };

/** Answers one AdmissionRequest on one endpoint: pure but for the resolver's lookup. */
export async function admitRequest(endpoint: Endpoint, request: AdmissionRequest, deps: CoreDeps): Promise<Admission> {
  const deadline = performance.now() + deps.config.admissionTimeoutMs;
  const kind = handledKind(request.kind.group, request.kind.kind);
  if (kind === undefined || (request.operation !== 'CREATE' && request.operation !== 'UPDATE') || finishesDeletion(request)) {
    return { verdict: PASS, kind: undefined, substitutions: 0 };
  }
  const fromObject = objectName(request.object);
  const namespace = request.namespace ?? fromObject.namespace;
  const name = request.name ?? fromObject.name;
  const subject = printable(`${kind} ${namespace ? `${namespace}/` : ''}${name}`);
  const bounded = { ...deps, resolver: withLookupDeadline(deps.resolver, deadline, deps.config.admissionTimeoutMs) };
  if (endpoint === 'validate') {
    const eppServices = kind === 'EnvoyFilter' ? await knownEppServices(namespace, bounded.resolver, deps.config, deps.pools?.endpointPickerServices()) : undefined;
    const findings = validateObject(kind, request.object, deps.config, eppServices, { namespace, envoyFilters: deps.envoyFilters, pools: deps.pools });
    return { verdict: verdictFor(subject, findings), kind, substitutions: 0 };
  }
  const outcome = await mutateObject(kind, request.object, namespace, bounded);
  const findings = reconcilerRewrite(request) ? outcome.findings.filter((f) => f.code !== 'EPP116') : outcome.findings;
  return { verdict: verdictFor(subject, findings, outcome.patch), kind, substitutions: outcome.substitutions };
}

/**
 * The reconciler's own patch, which rewrote the recorded address or port from a live read: a cache here that has not
 * seen the Service change yet would call the new value stale (EPP116). Known by its field manager, not by the change
 * alone: an old dump applied over a rewritten object changes the record back, and that one is stale.
 */
function reconcilerRewrite(request: AdmissionRequest): boolean {
  if (request.fieldManager !== FIELD_MANAGER || request.oldObject === undefined) return false;
  const before = annotationsOf(request.oldObject);
  const after = annotationsOf(request.object);
  return [ANNOTATIONS.resolvedClusterIP, ANNOTATIONS.resolvedPort].some((key) => before[key] !== after[key]);
}
