import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue, type WorkItem, type WorkOutcome } from '../../../src/reconcile/work-queue.ts';

function recordingQueue(outcome: (item: WorkItem, n: number) => WorkOutcome | Promise<WorkOutcome>, concurrency = 2) {
  const handled: WorkItem[] = [];
  const queue = new WorkQueue({
    concurrency,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    handle: async (item) => {
      handled.push(item);
      return outcome(item, handled.length);
    },
  });
  return { queue, handled };
}

t.test('a key added many times is handled once; nothing runs before start', async (t) => {
  const { queue, handled } = recordingQueue(() => ({ kind: 'done' }));
  queue.add('a');
  queue.add('a');
  queue.add('b');
  await sleep(10);
  t.equal(handled.length, 0);
  queue.start();
  await sleep(10);
  t.same(handled.map((i) => i.key).sort(), ['a', 'b']);
});

t.test('added again while in hand: handled once more afterwards, never twice at once', async (t) => {
  let inHand = 0;
  let most = 0;
  const { queue, handled } = recordingQueue(async () => {
    most = Math.max(most, ++inHand);
    await sleep(20);
    inHand--;
    return { kind: 'done' };
  }, 4);
  queue.start();
  queue.add('a');
  await sleep(5);
  queue.add('a');
  queue.add('a');
  await sleep(80);
  t.equal(handled.length, 2);
  t.equal(most, 1);
});

t.test('retry backs off per key; done forgets the failures', async (t) => {
  const { queue, handled } = recordingQueue((_item, n) => (n < 3 ? { kind: 'retry' } : { kind: 'done' }));
  queue.start();
  queue.add('a', { changeReceivedAt: 123 });
  await sleep(5);
  t.equal(queue.failuresOf('a'), 1);
  await sleep(150);
  t.equal(handled.length, 3);
  t.equal(queue.failuresOf('a'), 0);
  t.same(handled.map((i) => i.changeReceivedAt), [123, 123, 123], 'a retry keeps the time of the change that caused it');
});

t.test('after: looked at again later; the earliest change time is kept', async (t) => {
  const { queue, handled } = recordingQueue((_item, n) => (n === 1 ? { kind: 'after', delayMs: 30 } : { kind: 'done' }));
  queue.start();
  queue.add('a', { changeReceivedAt: 5 });
  await sleep(10);
  t.equal(handled.length, 1);
  t.equal(queue.length, 1, 'waiting');
  await sleep(40);
  t.equal(handled.length, 2);
  queue.add('b', { changeReceivedAt: 9, delayMs: 1000 });
  queue.add('b', { changeReceivedAt: 7 });
  await sleep(10);
  t.same(handled[2], { key: 'b', changeReceivedAt: 7 }, 'an immediate add overtakes a delayed one');
});

t.test('pause waits for the items in hand; clear drops the rest', async (t) => {
  const { queue, handled } = recordingQueue(async () => {
    await sleep(20);
    return { kind: 'done' };
  }, 1);
  queue.start();
  queue.add('a');
  queue.add('b');
  await sleep(5);
  await queue.pause();
  t.equal(handled.length, 1, 'b was not started');
  queue.clear();
  queue.start();
  await sleep(30);
  t.equal(handled.length, 1);
});

t.test('a handler that throws is retried', async (t) => {
  const { queue, handled } = recordingQueue((_item, n) => {
    if (n === 1) throw new Error('boom');
    return { kind: 'done' };
  });
  queue.start();
  queue.add('a');
  await sleep(60);
  t.equal(handled.length, 2);
});
