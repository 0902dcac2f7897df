import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * State that several api and worker processes share: the rate-limit windows of the Postgres-only profile (the
 * Redis profile keeps them in Redis) and the system alerts currently raised, so an alert is raised once however many
 * workers check the thresholds.
 */
export class SharedInstanceState1764810000000 implements MigrationInterface {
  name = 'SharedInstanceState1764810000000';

  async up(q: QueryRunner): Promise<void> {
    // UNLOGGED: a counter of the last minute is not worth a WAL write per request; a crash empties it, which only
    // forgives the current window.
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit_windows (
        key text PRIMARY KEY,
        hits int NOT NULL,
        resets_at timestamptz NOT NULL,
        blocked_until timestamptz
      )`);
    // GREATEST ignores NULL: when the row stops counting for anything.
    await q.query(
      `CREATE INDEX rate_limit_windows_ends_idx ON rate_limit_windows ((GREATEST(resets_at, blocked_until)))`,
    );
    await q.query(`
      CREATE TABLE system_alerts_raised (
        tenant_id text NOT NULL,
        kind text NOT NULL,
        raised_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, kind)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS system_alerts_raised`);
    await q.query(`DROP TABLE IF EXISTS rate_limit_windows`);
  }
}
