import { runMigrations as runBullmqMigrations } from 'bullmq';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from './index.js';

/**
 * Applies our pending migrations to `url`, then BullMQ's own schema (schema `bullmq`, used by the
 * Postgres-only profile; BullMQ versions it and upgrades it with the package). Safe to run from
 * several processes at once: both take a lock.
 */
export async function runMigrations(url: string): Promise<{ applied: string[]; bullmqSchemaVersion: number }> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    logging: ['error'],
  });
  await dataSource.initialize();
  let applied: string[];
  try {
    applied = (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return { applied, bullmqSchemaVersion: await runBullmqMigrations(client) };
  } finally {
    await client.end();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is missing: set it to a postgres:// connection URL');
    process.exit(2);
  }
  runMigrations(url).then(
    (result) => console.log(JSON.stringify({ level: 'info', msg: 'migrations applied', ...result })),
    (error: Error) => {
      console.error(JSON.stringify({ level: 'error', msg: 'migrations failed', error: error.message }));
      process.exit(1);
    },
  );
}
