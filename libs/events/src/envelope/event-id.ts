import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

// uuid's v7() asks crypto.getRandomValues for 16 bytes per id: one trip into the crypto library per event, 3.4 % of
// the api's CPU under `npm run bench` (cpu profile). Random bytes are drawn here 4 KiB at a time instead.
const POOL = new Uint8Array(4096);
let used = POOL.length;
const random16 = (): Uint8Array => {
  if (used + 16 > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  return POOL.subarray(used, (used += 16));
};

// The same monotonic state as uuid's own v7() keeps (which it skips when given the random bytes): a later id of this
// process never sorts before an earlier one, within a millisecond too.
const state = { msecs: -Infinity, seq: 0 };

/** A new event id: a UUIDv7 (RFC 9562), time-ordered within this process. */
export function newEventId(): string {
  const random = random16();
  const now = Date.now();
  if (now > state.msecs) {
    state.seq = ((random[6] & 0x7f) << 24) | (random[7] << 16) | (random[8] << 8) | random[9];
    state.msecs = now;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return uuidv7({ random, msecs: state.msecs, seq: state.seq });
}
