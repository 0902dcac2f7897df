/** Postgres asks to retry these: two transactions locked rows in opposite orders, or could not be serialised. */
const RETRYABLE = new Set(['40P01', '40001']);

/** Runs a transaction again (up to 3 times) when Postgres aborted it only because of a concurrent one. */
export async function retryOnConflict<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= 3 || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}
