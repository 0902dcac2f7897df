import { TenantsRepository, UsersRepository } from '@wms/events';
import { MasterDataRepository } from '@wms/wms-domain';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { hashPassword } from './password.js';
import { USER_ROLES } from './principal.js';

export const DEMO_TENANT = 'demo';
export const DEMO_WAREHOUSE = 'WH1';

/**
 * In one transaction: the tenant (if new), `warehouses` (the ones it does not have yet, bare: no zones or locations)
 * and one user per role (`<role>@<tenant>.local`), operator and supervisor assigned to `warehouses`. Existing users
 * and warehouses are left as they are. Returns the emails. Seed data is written directly, like the users without
 * their audit entries: the warehouses get no `warehouse.created` event (nothing listens to it).
 */
export async function seedTenantUsers(
  databaseUrl: string,
  tenant: string,
  password: string,
  warehouses: string[],
): Promise<Record<string, string>> {
  const db = await new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 1 } }).initialize();
  try {
    const hash = await hashPassword(password);
    return await db.transaction(async (m) => {
      await new TenantsRepository(db).insert(m, { id: tenant, name: tenant, createdBy: 'seed' });
      const masterData = new MasterDataRepository();
      for (const code of warehouses)
        await masterData.insertWarehouse(m, tenant, { code, name: `Warehouse ${code}`, timeZone: 'UTC' });
      const users = new UsersRepository(db);
      const emails: Record<string, string> = {};
      for (const role of USER_ROLES) {
        const email = `${role}@${tenant}.local`;
        emails[role] = email;
        await users.insert(m, {
          id: uuidv7(),
          tenantId: tenant,
          email,
          displayName: `Demo ${role}`,
          passwordHash: hash,
          role,
          warehouses: role === 'admin' ? [] : warehouses,
        });
      }
      return emails;
    });
  } finally {
    await db.destroy();
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
