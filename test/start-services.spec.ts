import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';

/** `npm start`'s choice of database: the one DATABASE_URL names, or a clear stop — never silently another. */
describe('provisioning Postgres for npm start', () => {
  const server = new URL(testEnv.databaseUrl);
  const missing = `wms_missing_${Date.now()}`;
  const provision = (databaseUrl: string) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const s = await import(${JSON.stringify(path.join(testEnv.root, 'scripts/services.mjs'))});
         try { const p = await s.provisionPostgres(); console.log(JSON.stringify(await s.createDatabase(p.serverUrl, p.database)));
               await p.stop(); }
         catch (e) { console.error(e.constructor.name + ': ' + e.message); process.exit(2); }`,
      ],
      { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl }, encoding: 'utf8', timeout: 30_000 },
    );
  afterAll(async () => {
    const client = new pg.Client({ connectionString: testEnv.databaseUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${missing}"`);
    await client.end();
  });

  it('creates the database when only the database is missing, on the server DATABASE_URL names', async () => {
    const url = new URL(server.toString());
    url.pathname = `/${missing}`;
    const result = provision(url.toString());
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toBe(url.toString());
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await client.end();
  });

  it('stops naming DATABASE_URL and the reason when its server does not answer, instead of starting another', () => {
    const url = new URL(server.toString());
    url.port = '1';
    const result = provision(url.toString());
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/DatabaseUrlError: DATABASE_URL: cannot use postgres:\/\/.*127\.0\.0\.1:1\//);
    expect(result.stderr).toContain('unset DATABASE_URL');
    expect(result.stdout).not.toContain('embedded');
  });
});
