import { ApiException } from '@kubernetes/client-node';
import { isObject } from '../json-value.ts';

/** The HTTP status of a failed client-node call, when it got as far as an answer. */
export function apiStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (!isObject(error)) return undefined;
  const status = error.statusCode ?? error.code;
  return typeof status === 'number' ? status : undefined;
}

/**
 * One line for a log or an Event: `HTTP 409: the object has been modified...`. ApiException's own message
 * spans lines and carries every response header.
 */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    let body: unknown = error.body;
    if (typeof body === 'string') {
      const text = body;
      try {
        body = JSON.parse(text);
      } catch {
        return `HTTP ${error.code}${text === '' ? '' : `: ${text.slice(0, 300)}`}`;
      }
    }
    return `HTTP ${error.code}${isObject(body) && typeof body.message === 'string' ? `: ${body.message}` : ''}`;
  }
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined || error.message.includes(cause) ? error.message : `${error.message}: ${cause}`;
}

/** A GET's answer, or undefined where the API answers 404 (the object, or its CRD, is not there); other errors thrown. */
export async function orNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}
