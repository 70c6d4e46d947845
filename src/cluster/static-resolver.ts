import { readTextFile } from '../text-file.ts';
import { parseAllDocuments } from 'yaml';
import { objectsOfKind } from './objects-of-kind.ts';
import { serviceKey, toServiceRecord, type ServiceLookup, type ServiceRecord, type ServiceResolver } from './service-resolver.ts';
import { reasonOf } from '../manifests/find-manifest-files.ts';

/** Answers from a fixed table of Services (a file given to `--services`); never changes after loading. */
export class StaticServiceResolver implements ServiceResolver {
  readonly source: string;
  readonly #services = new Map<string, ServiceRecord>();

  constructor(records: Iterable<ServiceRecord>, source: string) {
    this.source = source;
    for (const record of records) this.#services.set(serviceKey(record.namespace, record.name), record);
  }

  static fromRecords(records: Iterable<ServiceRecord>, source = 'the static Service table'): StaticServiceResolver {
    return new StaticServiceResolver(records, source);
  }

  /** Keeps the Services among `objects`, a List of them, or any mix; everything else is skipped. */
  static fromObjects(objects: Iterable<unknown>, source: string): StaticServiceResolver {
    return new StaticServiceResolver(serviceRecordsIn(objects), source);
  }

  lookup(namespace: string, name: string): ServiceLookup {
    const service = this.#services.get(serviceKey(namespace, name));
    return service === undefined ? { kind: 'not-found' } : { kind: 'found', service };
  }

  ready(): boolean {
    return true;
  }

  size(): number {
    return this.#services.size;
  }
}

/** The --services file cannot be used: a one-line reason for the user, not a stack trace. */
export class ServicesFileError extends Error {
  override name = 'ServicesFileError';
}

/** Reads a YAML file of Services: a List (`kubectl get svc -A -o yaml`), several documents, or both. */
export function loadServicesFile(path: string): StaticServiceResolver {
  return StaticServiceResolver.fromObjects(readObjectsFile(path), path);
}

/** Every YAML document of a `--services` file, as objects; a clear error when it cannot be read or parsed. */
export function readObjectsFile(path: string): unknown[] {
  let text: string;
  try {
    text = readTextFile(path);
  } catch (error) {
    throw new ServicesFileError(`cannot read services file ${path}: ${reasonOf(error)}`);
  }
  const objects: unknown[] = [];
  for (const document of parseAllDocuments(text)) {
    const [error] = document.errors;
    if (error !== undefined) throw new ServicesFileError(`services file ${path} is not valid YAML: ${error.message.trimEnd()}`);
    objects.push(document.toJS());
  }
  return objects;
}

function* serviceRecordsIn(objects: Iterable<unknown>): Generator<ServiceRecord> {
  for (const object of objectsOfKind(objects, 'Service')) {
    const record = toServiceRecord(object);
    if (record !== undefined) yield record;
  }
}
