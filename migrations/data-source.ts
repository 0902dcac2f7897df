import { DataSource } from 'typeorm';
import { migrations } from './index.js';

/** For the TypeORM CLI: `npx typeorm migration:run -d dist/migrations/data-source.js`. */
export default new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  migrations,
  migrationsTableName: 'typeorm_migrations',
});
