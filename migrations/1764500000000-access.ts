import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access that changes at once: tenants that can be provisioned and suspended, sessions that can be
 * cut, API keys grouped by integration (so a rotated key keeps its idempotency keys), sign-in
 * failures counted per email whether or not it has an account, and idempotency keys scoped to the
 * caller instead of the whole tenant.
 */
export class Access1764500000000 implements MigrationInterface {
  name = 'Access1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        suspended_at timestamptz,
        suspended_reason text
      )`);
    // Every tenant that has people or credentials today becomes a provisioned, active tenant.
    await q.query(`
      INSERT INTO tenants (id, name)
      SELECT tenant_id, tenant_id FROM (
        SELECT tenant_id FROM users UNION SELECT tenant_id FROM device_tokens UNION SELECT tenant_id FROM api_keys
      ) known
      ON CONFLICT DO NOTHING`);

    // Access tokens issued before this instant are refused (set when a person is disabled).
    await q.query(`ALTER TABLE users ADD COLUMN tokens_not_before timestamptz`);

    // One-time codes with which a person sets their password (a new tenant's first admin).
    await q.query(`
      CREATE TABLE set_password_codes (
        code_hash text PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX set_password_codes_user_idx ON set_password_codes (user_id)`);

    // An integration keeps its identity across key rotations; existing keys are each their own integration.
    await q.query(`ALTER TABLE api_keys ADD COLUMN integration_id uuid`);
    await q.query(`UPDATE api_keys SET integration_id = id`);
    await q.query(`ALTER TABLE api_keys ALTER COLUMN integration_id SET NOT NULL`);

    // Failed sign-ins per email, known or not, so a lockout says nothing about whether an account exists.
    await q.query(`
      CREATE TABLE login_failures (
        email text PRIMARY KEY,
        failures int NOT NULL DEFAULT 0,
        locked_until timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until`);

    // Idempotency keys belong to the caller (kind + stable id), not to the whole tenant.
    await q.query(`ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey`);
    await q.query(`ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, scope, key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM idempotency_keys WHERE scope <> ''`);
    await q.query(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey`);
    await q.query(`ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, key)`);
    await q.query(`ALTER TABLE idempotency_keys DROP COLUMN scope`);
    await q.query(
      `ALTER TABLE users ADD COLUMN failed_logins int NOT NULL DEFAULT 0, ADD COLUMN locked_until timestamptz`,
    );
    await q.query(`DROP TABLE login_failures`);
    await q.query(`ALTER TABLE api_keys DROP COLUMN integration_id`);
    await q.query(`DROP TABLE set_password_codes`);
    await q.query(`ALTER TABLE users DROP COLUMN tokens_not_before`);
    await q.query(`DROP TABLE tenants`);
  }
}
