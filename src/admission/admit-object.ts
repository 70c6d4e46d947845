import type { ServiceResolver } from '../cluster/service-resolver.ts';
import type { WebhookConfig } from '../config.ts';
import { checkEnvoyFilter } from '../envoyfilter/check-envoyfilter.ts';
import { substituteClusterIP } from '../envoyfilter/substitute-cluster-ip.ts';
import type { Finding } from '../findings.ts';
import { injectExtensionRef } from '../httproute/inject-extension-ref.ts';
import type { HandledKind } from './handled-kinds.ts';

export interface CoreDeps {
  config: WebhookConfig;
  resolver: ServiceResolver;
}

export interface MutationOutcome {
  /** The object as it should be stored; the input itself when nothing changed. */
  object: unknown;
  findings: Finding[];
  substitutions: number;
}

/**
 * What the mutating webhook does to an object of a handled kind, in `namespace` (the request's: on CREATE
 * it is the truth even where the object omits it). The server, the CLI and the e2e all drive this. */
export async function mutateObject(kind: HandledKind, object: unknown, namespace: string, deps: CoreDeps): Promise<MutationOutcome> {
  if (kind === 'EnvoyFilter') return substituteClusterIP(object, namespace, deps.resolver, deps.config);
  const injected = injectExtensionRef(object, deps.config);
  return { object: injected.object, findings: injected.findings, substitutions: 0 };
}

/** What the validating webhook says about the final object. */
export function validateObject(kind: HandledKind, object: unknown, config: WebhookConfig): Finding[] {
  return kind === 'EnvoyFilter' ? checkEnvoyFilter(object, config) : [];
}
