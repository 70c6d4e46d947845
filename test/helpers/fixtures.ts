import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { loadServicesFile } from '../../src/cluster/static-resolver.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** A manifest under test/fixtures/manifests as a plain object (first document). */
export function manifest(name: string): Record<string, any> {
  return parse(readFileSync(`${FIXTURES}manifests/${name}`, 'utf8'));
}

export function manifests(name: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(`${FIXTURES}manifests/${name}`, 'utf8')).map((d) => d.toJS());
}

/** The Service table of test/fixtures/manifests/services.yaml (EPP at 10.96.183.7:9002). */
export function fixtureResolver() {
  return loadServicesFile(`${FIXTURES}manifests/services.yaml`);
}

export const EPP_CLUSTER_IP = '10.96.183.7';

/** An AdmissionReview v1 as the kube-apiserver sends it. */
export function admissionReview(object: Record<string, any>, operation = 'CREATE', uid = 'a3f1c2d4-0000-4000-8000-000000000001') {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource: `${object.kind.toLowerCase()}s` },
      namespace: object.metadata?.namespace,
      name: object.metadata?.name,
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters'] },
      object,
      oldObject: operation === 'UPDATE' ? object : null,
      dryRun: false,
    },
  };
}
