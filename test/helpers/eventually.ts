import { setTimeout as sleep } from 'node:timers/promises';

/** Whether `condition` holds within `timeoutMs`, asked every 25 ms: for effects that land a poll or a reload later. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(25);
  }
  return condition();
}
