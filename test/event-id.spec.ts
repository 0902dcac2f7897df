import { newEventId, uuidV7Millis } from '@wms/events';
import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';

describe('event ids', () => {
  it('are UUIDv7s of now, unique and increasing within the process, many per millisecond', () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    const after = Date.now();
    expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Sorted as text (as Postgres sorts uuids) they come in the order they were made.
    expect(ids.every((id, i) => i === 0 || ids[i - 1] < id)).toBe(true);
    expect(uuidV7Millis(ids[0])).toBeGreaterThanOrEqual(before);
    // The sequence may run a millisecond or so ahead of the clock when many ids share one millisecond.
    expect(uuidV7Millis(ids[ids.length - 1])).toBeLessThanOrEqual(after + 2);
    // The random part is random: no two ids share their last 8 bytes.
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBeGreaterThan(ids.length * 0.99);
  });
});
