// `npm start`: brings the product up on this machine — install, build, provision, migrate, run api + worker.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
if (!existsSync(path.join(root, 'node_modules/.package-lock.json'))) {
  console.log(JSON.stringify({ level: 'info', msg: 'installing dependencies (npm install)' }));
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const { build, createDatabase, DatabaseUrlError, findRedis, log, migrate, provisionPostgres, redact } =
  await import('./services.mjs');

build();
const pg = await provisionPostgres().catch((error) => {
  if (!(error instanceof DatabaseUrlError)) throw error;
  console.error(error.message);
  process.exit(2);
});
const databaseUrl = await createDatabase(pg.serverUrl, pg.database);
migrate(databaseUrl);
// A Redis Cluster is used as given (the api and worker check it at boot); otherwise one Redis when it answers.
const redisCluster = process.env.REDIS_CLUSTER_NODES || null;
if (redisCluster) log('using the Redis Cluster', { nodes: redisCluster });
const redisUrl = redisCluster ? null : await findRedis();

// A signing secret for access tokens, made once per checkout and kept in .data/ (never printed).
const secretFile = path.join(root, '.data', 'auth-secret');
if (!process.env.AUTH_SECRET && !existsSync(secretFile)) {
  mkdirSync(path.dirname(secretFile), { recursive: true });
  writeFileSync(secretFile, randomBytes(48).toString('base64url'), { mode: 0o600 });
}
const authSecret = process.env.AUTH_SECRET ?? readFileSync(secretFile, 'utf8').trim();

// The demo tenant: admin@demo.local, supervisor@demo.local, operator@demo.local (warehouse WH1); its
// password is published, so DEMO_SEED=false leaves it out (then set OPS_TENANT and create it with the CLI).
const seedDemo = process.env.DEMO_SEED !== 'false';
if (seedDemo) {
  const seeded = spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'inherit',
  });
  if (seeded.status !== 0) process.exit(seeded.status ?? 1);
} else if (!process.env.OPS_TENANT) {
  log('no demo tenant and no OPS_TENANT: nobody operates this installation yet', {
    next: 'OPS_TENANT=ops npm start, then npm run wms -- tenants:create ops --name Ops --admin-email you@example.com',
  });
}

const env = {
  ...(seedDemo ? { OPS_TENANT: 'demo' } : {}),
  ...process.env,
  AUTH_SECRET: authSecret,
  DATABASE_URL: databaseUrl,
  QUEUE_CONNECTION: redisUrl || redisCluster ? 'redis' : 'postgres',
  PORT: process.env.PORT ?? '3000',
};
if (redisUrl) env.REDIS_URL = redisUrl;
else delete env.REDIS_URL;
if (!redisCluster) delete env.REDIS_CLUSTER_NODES;

const children = ['api', 'worker'].map((app) =>
  spawn(process.execPath, [path.join(root, `dist/apps/${app}/src/main.js`)], { env, stdio: 'inherit' }),
);
log('WMS event backbone is starting', {
  api: `http://localhost:${env.PORT}`,
  dashboard: `http://localhost:${env.PORT}/ui/`,
  docs: `http://localhost:${env.PORT}/docs`,
  health: `http://localhost:${env.PORT}/health`,
  database: redact(databaseUrl),
  queue: env.QUEUE_CONNECTION,
});

let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  await pg.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
for (const c of children) c.on('exit', (code) => void stop(code ?? 1));
