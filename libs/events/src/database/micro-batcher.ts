/**
 * Coalesces concurrent calls into one batch: items pushed while a flush is running, or within
 * the same tick, go out together. Each caller gets the result (or error) for its own item.
 */
export class MicroBatcher<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private flushing = 0;
  private scheduled = false;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<(R | Error)[]>,
    private readonly maxSize = 500,
    private readonly maxInFlight = 2,
  ) {}

  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing >= this.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing >= this.maxInFlight || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxSize);
    this.flushing++;
    try {
      const results = await this.flushFn(batch.map((b) => b.item));
      // A flush may fail single items by returning an Error in their place.
      batch.forEach((b, i) => (results[i] instanceof Error ? b.reject(results[i]) : b.resolve(results[i] as R)));
    } catch (error) {
      for (const b of batch) b.reject(error);
    } finally {
      this.flushing--;
      this.schedule();
    }
  }
}
