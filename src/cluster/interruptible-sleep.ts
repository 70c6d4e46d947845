/** A wait between retries that stop() can cut short, so a loop never outlives its owner by a backoff period. */
export class InterruptibleSleep {
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake = wake;
    });
  }

  /** Ends the current sleep, if any, at once. */
  interrupt(): void {
    this.#wake?.();
  }
}
