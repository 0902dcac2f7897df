import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, TEST_PASSWORD, TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';

describe('warehouse simulator (npm run simulate)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('drives a demo warehouse for a bounded time with no unexpected error, and the stock ledger balances', async () => {
    const warehouse = `SIM-${Date.now().toString(36).toUpperCase()}`;
    const child = spawn(
      process.execPath,
      [
        path.join(testEnv.root, 'scripts/simulate.mjs'),
        '--url',
        sys.url,
        '--email',
        `admin@${sys.tenant}.local`,
        '--password',
        TEST_PASSWORD,
        '--warehouse',
        warehouse,
        '--seconds',
        '6',
        '--workers',
        '3',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    const summary = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(summary, out.slice(-2000)).toMatchObject({
      msg: 'simulation finished',
      unexpected: 0,
      ledger: { balanced: true },
    });
    expect(code).toBe(0);
    expect(summary.ok).toBeGreaterThan(100);
    expect(summary.expectedRejections).toBeGreaterThan(0);

    // Independently of the simulator's own check: every stock-changing event, summed from the store, equals stock on hand.
    await waitFor(
      'the outbox to drain',
      async () =>
        (
          await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`, [
            sys.tenant,
          ])
        ).rows[0].n === 0,
      30_000,
    );
    const {
      rows: [ledger],
    } = await sys.db.query(
      `SELECT coalesce(sum(CASE name
                WHEN 'goods.received' THEN (payload->>'quantity')::int
                WHEN 'inventory.adjusted' THEN (payload->>'quantityDelta')::int
                WHEN 'inventory.discrepancy_found' THEN (payload->>'quantityDelta')::int
                WHEN 'pick.completed' THEN -(payload->>'quantity')::int
                WHEN 'pick.short' THEN -(payload->>'picked')::int
                ELSE 0 END), 0)::int AS from_events,
              (SELECT coalesce(sum(on_hand), 0)::int FROM stock WHERE tenant_id = $1 AND warehouse_code = $2) AS on_hand
       FROM event_store WHERE tenant_id = $1 AND warehouse_id = $2`,
      [sys.tenant, warehouse],
    );
    expect(ledger.on_hand).toBeGreaterThan(0);
    expect(ledger.from_events).toBe(ledger.on_hand);
    const {
      rows: [negative],
    } = await sys.db.query(`SELECT count(*)::int AS n FROM stock WHERE on_hand < 0 OR reserved + held > on_hand`);
    expect(negative.n).toBe(0);
  });
});
