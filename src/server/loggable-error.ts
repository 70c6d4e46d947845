/**
 * An error as a log line's `err` shows it: its name, message and stack, none of its other properties (a library's
 * error may carry the document it failed on, as fast-json-patch's carries its whole `tree`, and object bodies are
 * never logged). A new Error, not one on the thrown error's prototype: a DOMException's getters refuse any other
 * object. pino's err serializer names the type after `constructor` when that is a function, else after `name`: the
 * own, non-function `constructor` here makes it the thrown error's name (a plain object was logged as type "Object").
 */
export function loggableError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`a ${typeof error} was thrown, not an Error`);
  const logged = new Error(error.message);
  logged.stack = error.stack;
  Object.defineProperty(logged, 'name', { value: error.name });
  Object.defineProperty(logged, 'constructor', { value: { name: error.name } });
  return logged;
}
