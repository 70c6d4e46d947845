/**
 * An error as a log line's `err` shows it: its class, message and stack, none of its other properties (a library's
 * error may carry the document it failed on, as fast-json-patch's carries its whole `tree`, and object bodies are
 * never logged). Built on the error's own prototype: pino's err serializer names the type after the constructor, and
 * a plain object of these fields was logged as type "Object".
 */
export function loggableError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`a ${typeof error} was thrown, not an Error`);
  return Object.assign(Object.create(Object.getPrototypeOf(error)) as Error, { message: error.message, stack: error.stack });
}
