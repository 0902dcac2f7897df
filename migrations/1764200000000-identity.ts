import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Identity1764200000000 implements MigrationInterface {
  name = 'Identity1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        email text NOT NULL,
        display_name text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('operator', 'supervisor', 'admin')),
        warehouses text[] NOT NULL DEFAULT '{}',
        phone text,
        time_zone text NOT NULL DEFAULT 'UTC',
        failed_logins int NOT NULL DEFAULT 0,
        locked_until timestamptz,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // People sign in with their email alone, so an email belongs to one tenant.
    await q.query(`CREATE UNIQUE INDEX users_email_uq ON users (lower(email))`);
    await q.query(`CREATE INDEX users_tenant_idx ON users (tenant_id, role)`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id),
        token_hash text NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Scanner devices and integrations authenticate with opaque tokens; only their SHA-256 is kept.
    for (const table of ['device_tokens', 'api_keys']) {
      await q.query(`
        CREATE TABLE ${table} (
          id uuid PRIMARY KEY,
          tenant_id text NOT NULL,
          name text NOT NULL,
          token_hash text NOT NULL UNIQUE,
          warehouses text[] NOT NULL DEFAULT '{}',
          created_by uuid NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          revoked_at timestamptz
        )`);
    }
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        tenant_id text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        actor_type text NOT NULL,
        actor_id text NOT NULL,
        action text NOT NULL,
        target text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id)`);
    // Nobody edits the audit log: refuse UPDATE and DELETE at the database.
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`);
    await q.query(
      `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_log', 'api_keys', 'device_tokens', 'refresh_tokens', 'users'])
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    await q.query(`DROP FUNCTION IF EXISTS audit_log_append_only()`);
  }
}
