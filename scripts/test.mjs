// `npm test`: builds, provisions a fresh database (and a private redis-server), runs every test, cleans up.
// Extra arguments go to vitest, e.g. `npm test -- dist/test/events-api`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  build,
  createDatabase,
  dropDatabase,
  ensureTools,
  log,
  migrate,
  provisionPostgres,
  root,
  startRedisServer,
} from './services.mjs';

// A private redis-server (restarted by the resilience tests), redis-cli to form the cluster test's Redis Cluster,
// Chromium for the dashboard's browser tests, docker-compose (v1) to check docker-compose.yml without a Docker engine.
ensureTools({
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  chromium: 'chromium',
  'docker-compose': 'docker-compose',
});
build();
const pg = await provisionPostgres();
const database = `wms_test_${Date.now()}`;
const databaseUrl = await createDatabase(pg.serverUrl, database);
migrate(databaseUrl);
const redis = await startRedisServer();
log('test services ready', { database, redis: redis.url });

const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    TEST_DATABASE_URL: databaseUrl,
    TEST_REDIS_URL: redis.url,
    TEST_REDIS_PORT: String(redis.port),
    TEST_ROOT: root,
  },
});
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
await redis.stop();
await dropDatabase(pg.serverUrl, database).catch((e) =>
  log('could not drop the test database', { database, error: e.message }),
);
await pg.stop();
process.exit(code);
