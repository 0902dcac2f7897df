import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { testEnv } from './support/env.js';

// `docker-compose config` (Debian's docker-compose, v1) validates and renders the file without a Docker engine.
const installed = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const MISSING = 'docker-compose is not installed: apt-get install -y docker-compose (npm test installs it when it can)';

const scratch = mkdtempSync(path.join(tmpdir(), 'wms-compose-'));
// An empty env file, so that a developer's .env cannot supply what the test leaves unset.
const emptyEnvFile = path.join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');

const SECRET = 'x'.repeat(48);

interface Service {
  command?: string[];
  restart?: string;
  environment?: Record<string, string | number | boolean | null>;
  volumes?: unknown[];
}

/** `docker-compose config` with exactly `env` (and PATH) as the caller's environment. */
function composeConfig(env: Record<string, string>) {
  const root = testEnv.root;
  const res = spawnSync(
    'docker-compose',
    ['--project-directory', root, '-f', path.join(root, 'docker-compose.yml'), '--env-file', emptyEnvFile, 'config'],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      encoding: 'utf8',
    },
  );
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function rendered(env: Record<string, string>): Record<string, Service> {
  const res = composeConfig(env);
  expect(res.status, res.stderr).toBe(0);
  return parse(res.stdout).services;
}

/** Runs the migrate service's start command in a shell whose `node` only records its arguments. */
function runMigrateCommand(migrate: Service): string[] {
  const [shell, flag, script] = migrate.command!;
  expect([shell, flag]).toEqual(['sh', '-c']);
  const bin = mkdtempSync(path.join(scratch, 'bin-'));
  const calls = path.join(bin, 'calls');
  writeFileSync(path.join(bin, 'node'), `#!/bin/sh\necho "$*" >> "${calls}"\n`);
  chmodSync(path.join(bin, 'node'), 0o755);
  const environment = Object.fromEntries(
    Object.entries(migrate.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]),
  );
  // The rendered file keeps compose's `$$` escape; compose hands the container a single `$`.
  const res = spawnSync('sh', ['-c', script.replaceAll('$$', '$')], {
    env: { ...environment, PATH: `${bin}:/usr/bin:/bin` },
    encoding: 'utf8',
  });
  expect(res.status, res.stderr).toBe(0);
  return existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
}

describe('docker-compose.yml', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // npm test installs docker-compose (or stops saying how); the checks never skip for want of it.
  it('can be checked (docker-compose is installed)', () => {
    expect(installed, MISSING).toBe(true);
  });

  describe('rendered by docker-compose config', () => {
    it('refuses to start without AUTH_SECRET, and says how to make one', () => {
      const res = composeConfig({ OPS_TENANT: 'ops' });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain('set AUTH_SECRET to at least 32 random characters, e.g. openssl rand -base64 48');
    });

    it('refuses to start without OPS_TENANT, and says what it is', () => {
      const res = composeConfig({ AUTH_SECRET: SECRET });
      expect(res.status).not.toBe(0);
      expect(res.stderr).toContain('set OPS_TENANT to the slug of the operating tenant');
    });

    it('starts with them set, passes them on, and restarts api and worker unless stopped', () => {
      const services = rendered({ AUTH_SECRET: SECRET, OPS_TENANT: 'ops' });
      for (const name of ['migrate', 'api', 'worker'])
        expect(services[name].environment).toMatchObject({ AUTH_SECRET: SECRET, OPS_TENANT: 'ops' });
      expect(services.api.restart).toBe('unless-stopped');
      expect(services.worker.restart).toBe('unless-stopped');
      // A one-shot job: restarting it would run the migrations (and a seed) again and again.
      expect(services.migrate.restart).toBeUndefined();
    });

    it('keeps the archived event partitions on a volume at the worker’s ARCHIVE_DIR', () => {
      const services = rendered({ AUTH_SECRET: SECRET, OPS_TENANT: 'ops' });
      // The image's working directory is /app and ARCHIVE_DIR defaults to .data/archive.
      expect(JSON.stringify(services.worker.volumes)).toMatch(/archive.*\/app\/\.data\/archive/);
    });

    it('seeds the demo tenant only when DEMO_SEED=true', () => {
      const migrations = 'dist/migrations/run.js';
      const seed = 'dist/apps/api/src/auth/demo-seed.js';
      // The image runs the compiled files from the same paths (Dockerfile: WORKDIR /app, dist copied as is).
      for (const file of [migrations, seed]) expect(existsSync(path.join(testEnv.root, file)), file).toBe(true);
      const base = { AUTH_SECRET: SECRET, OPS_TENANT: 'ops' };
      expect(runMigrateCommand(rendered(base).migrate)).toEqual([migrations]);
      expect(runMigrateCommand(rendered({ ...base, DEMO_SEED: 'false' }).migrate)).toEqual([migrations]);
      expect(runMigrateCommand(rendered({ ...base, DEMO_SEED: 'true' }).migrate)).toEqual([migrations, seed]);
    });
  });
});
