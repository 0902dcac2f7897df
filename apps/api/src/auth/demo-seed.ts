import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { hashPassword } from './password.js';
import { USER_ROLES } from './principal.js';

export const DEMO_TENANT = 'demo';
export const DEMO_WAREHOUSE = 'WH1';

/**
 * The tenant (if new) and one user per role in it (`<role>@<tenant>.local`), operator and supervisor assigned to
 * `warehouses`. Existing users are left as they are. Returns the emails.
 */
export async function seedTenantUsers(
  databaseUrl: string,
  tenant: string,
  password: string,
  warehouses: string[],
): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const hash = await hashPassword(password);
    await client.query(`INSERT INTO tenants (id, name, created_by) VALUES ($1, $1, 'seed') ON CONFLICT DO NOTHING`, [
      tenant,
    ]);
    const emails: Record<string, string> = {};
    for (const role of USER_ROLES) {
      const email = `${role}@${tenant}.local`;
      emails[role] = email;
      await client.query(
        `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, warehouses) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (lower(email)) DO NOTHING`,
        [uuidv7(), tenant, email, `Demo ${role}`, hash, role, role === 'admin' ? [] : warehouses],
      );
    }
    return emails;
  } finally {
    await client.end();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const url = process.env.DATABASE_URL;
  const password = process.env.DEMO_PASSWORD ?? 'demo-password-1234';
  if (!url) {
    console.error('DATABASE_URL is missing: set it to a postgres:// connection URL');
    process.exit(2);
  }
  seedTenantUsers(url, DEMO_TENANT, password, [DEMO_WAREHOUSE]).then(
    (emails) =>
      console.log(
        JSON.stringify({
          level: 'info',
          msg: 'demo tenant ready',
          tenant: DEMO_TENANT,
          warehouse: DEMO_WAREHOUSE,
          users: emails,
          password: process.env.DEMO_PASSWORD ? '(DEMO_PASSWORD)' : password,
        }),
      ),
    (error: Error) => {
      console.error(JSON.stringify({ level: 'error', msg: 'demo seed failed', error: error.message }));
      process.exit(1);
    },
  );
}
