/** `instant` written in the time zone `offset` ('Z', '+05:30', '-03:00'), with its milliseconds. */
export function inZone(instant: Date, offset = 'Z'): string {
  if (offset === 'Z') return instant.toISOString();
  const [h, m] = offset.slice(1).split(':').map(Number);
  const minutes = (offset[0] === '-' ? -1 : 1) * (h * 60 + m);
  return new Date(instant.getTime() + minutes * 60_000).toISOString().replace('Z', offset);
}

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
