import { DataSource } from 'typeorm';
import { migrations } from './index.js';

/** Applies pending migrations to `url`; safe to run from several processes at once (TypeORM takes a lock). */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTableName: 'typeorm_migrations', logging: ['error'] });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
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
    (names) => console.log(JSON.stringify({ level: 'info', msg: 'migrations applied', applied: names })),
    (error: Error) => {
      console.error(JSON.stringify({ level: 'error', msg: 'migrations failed', error: error.message }));
      process.exit(1);
    },
  );
}
