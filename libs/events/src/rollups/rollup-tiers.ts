/**
 * Rollups: counters and latency histograms per minute, hour and day (UTC), so the dashboard, the alert monitor
 * and /metrics read a bounded number of rows whatever the size of the event store.
 */
export const ROLLUP_TIERS = ['minute', 'hour', 'day'] as const;
export type RollupTier = (typeof ROLLUP_TIERS)[number];

const MINUTE_MS = 60_000;
export const TIER_MS: Record<RollupTier, number> = { minute: MINUTE_MS, hour: 3_600_000, day: 86_400_000 };

/** How long each tier's rows live; the maintenance queue's `prune-rollups` job deletes older ones. */
export const TIER_LIFETIME_DAYS: Record<RollupTier, number> = { minute: 3, hour: 90, day: 5 * 366 };

/** The longest window the dashboard answers. */
export const MAX_WINDOW_MINUTES = 30 * 1440;

/** The tier a window's series is shown in: minutes up to 2 hours, hours up to 3 days, days beyond. */
export const seriesTier = (minutes: number): RollupTier =>
  minutes <= 120 ? 'minute' : minutes <= 3 * 1440 ? 'hour' : 'day';

/** Rows of one tier whose bucket starts in [from, to). */
export interface RollupSpan {
  tier: RollupTier;
  from: Date;
  to: Date;
}

/** What a window of `minutes` reads: its series' tier, its exact bounds, and the spans of each tier covering it. */
export interface RollupWindow {
  tier: RollupTier;
  /** Inclusive start, aligned to a minute (to an hour when the window reaches past the minute tier's lifetime). */
  from: Date;
  /** Exclusive end: the end of the current minute. */
  to: Date;
  spans: RollupSpan[];
}

const floorTo = (ms: number, size: number) => Math.floor(ms / size) * size;
const ceilTo = (ms: number, size: number) => Math.ceil(ms / size) * size;

/**
 * The last `minutes` minutes, the current one included. Its body is read from the series' tier; the leading
 * edge that does not fill a whole bucket of it from the finer tiers (minutes up to the first full hour, hours
 * up to the first full day), so the figures are exact to the minute. An edge older than the minute tier's
 * lifetime starts at the next full hour instead.
 */
export function rollupWindow(minutes: number, now = Date.now()): RollupWindow {
  const tier = seriesTier(minutes);
  const to = floorTo(now, MINUTE_MS) + MINUTE_MS;
  let from = to - minutes * MINUTE_MS;
  if (from < now - TIER_LIFETIME_DAYS.minute * TIER_MS.day) from = ceilTo(from, TIER_MS.hour);
  const spans: RollupSpan[] = [];
  let at = from;
  for (let i = 0; i <= ROLLUP_TIERS.indexOf(tier); i++) {
    const t = ROLLUP_TIERS[i];
    const end = t === tier ? to : Math.min(ceilTo(at, TIER_MS[ROLLUP_TIERS[i + 1]]), to);
    if (end > at) spans.push({ tier: t, from: new Date(at), to: new Date(end) });
    at = end;
  }
  return { tier, from: new Date(from), to: new Date(to), spans };
}

/**
 * Latency histograms have fixed log-spaced buckets, four per doubling: bucket 0 holds everything under 1 ms,
 * bucket k ≥ 1 holds [2^((k-1)/4), 2^(k/4)) ms (the SQL function `rollup_latency_bucket(ms)` assigns them).
 * A percentile is read as the geometric middle of the bucket its rank falls in, so it is within a factor
 * 2^(1/8) — ±9.1 % — of the exact value for latencies of 1 ms and more (and under 1 ms for the rest).
 */
export const LATENCY_BUCKETS_PER_DOUBLING = 4;

/** The latency a bucket stands for: the geometric middle of its bounds, 0 for the bucket under 1 ms. */
export const bucketMs = (bucket: number): number =>
  bucket <= 0 ? 0 : 2 ** ((bucket - 0.5) / LATENCY_BUCKETS_PER_DOUBLING);

/** Milliseconds at the 50th, 95th and 99th percentile; null when there was nothing to measure. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** One bucket of a histogram and how many latencies fell in it. */
export interface HistogramBucket {
  bucket: number;
  n: number;
}

/** The nearest-rank percentiles of a histogram, each rounded to a millisecond. */
export function percentiles(histogram: HistogramBucket[]): Percentiles {
  const sorted = [...histogram].sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((n, b) => n + b.n, 0);
  const at = (p: number): number | null => {
    if (!total) return null;
    const rank = Math.max(1, Math.ceil(p * total));
    let seen = 0;
    for (const b of sorted) {
      seen += b.n;
      if (seen >= rank) return Math.round(bucketMs(b.bucket));
    }
    return null;
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** `VALUES` rows of each tier with its lifetime, for SQL that writes every tier at once. */
export const TIERS_SQL = `(VALUES ${ROLLUP_TIERS.map((t) => `('${t}', interval '${TIER_LIFETIME_DAYS[t]} days')`).join(
  ', ',
)}) AS t(tier, keep)`;
