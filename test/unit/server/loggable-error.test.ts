import t from 'tap';
import { loggableError } from '../../../src/server/loggable-error.ts';

t.test('an error keeps its class, message and stack, and nothing else it carries', async (t) => {
  const error = Object.assign(new RangeError('too deep'), { tree: { secret: 'x' } });
  const logged = loggableError(error);
  t.equal(logged.name, "RangeError");
  t.equal(logged.message, 'too deep');
  t.equal(logged.stack, error.stack);
  t.notOk('tree' in logged, 'what the library hung on it stays out of the log');
});

t.test("a DOMException, whose message is its prototype's getter, is turned into a loggable error, not a TypeError", async (t) => {
  let thrown: unknown;
  try {
    structuredClone(() => 1);
  } catch (error) {
    thrown = error;
  }
  t.equal((thrown as Error).name, 'DataCloneError');
  const logged = loggableError(thrown);
  t.match(logged.message, /could not be cloned/);
  t.equal(logged.name, 'DataCloneError');
});
