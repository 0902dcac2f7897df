import { clusterNodes, ConfigError, queuePrefix } from '@wms/events';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../apps/api/src/api-config.js';
import { loadWorkerConfig as loadConfig } from '../apps/worker/src/worker-config.js';
import { testEnv } from './support/env.js';

describe('configuration', () => {
  it('names every bad variable and what it expects', () => {
    let error: unknown;
    try {
      loadApiConfig({ DATABASE_URL: 'mysql://db', QUEUE_CONNECTION: 'rabbit', PORT: 'eighty' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL must be a postgres:// connection URL');
    expect(message).toContain('QUEUE_CONNECTION must be "redis" or "postgres"');
    expect(message).toContain('PORT must be an integer');
  });

  it('lists the bad variables of every owner’s section at once: events, notifications and api', () => {
    expect(() =>
      loadApiConfig({
        DATABASE_URL: 'postgres://x/y',
        LISTENER_ATTEMPTS: '0',
        SMS_DAILY_BUDGET: 'lots',
        LOGIN_MAX_FAILURES: '-1',
      }),
    ).toThrow(
      /LISTENER_ATTEMPTS[\s\S]*SMS_DAILY_BUDGET must be an integer[\s\S]*AUTH_SECRET is missing[\s\S]*LOGIN_MAX_FAILURES/,
    );
  });

  it('reports a missing DATABASE_URL and a redis profile without REDIS_URL', () => {
    expect(() => loadConfig({ QUEUE_CONNECTION: 'redis' })).toThrow(
      /DATABASE_URL is missing[\s\S]*REDIS_URL is missing/,
    );
  });

  it('requires the api’s token-signing secret', () => {
    expect(() => loadApiConfig({ DATABASE_URL: 'postgres://x/y' })).toThrow(/AUTH_SECRET is missing/);
    expect(() => loadApiConfig({ DATABASE_URL: 'postgres://x/y', AUTH_SECRET: 'short' })).toThrow(
      /AUTH_SECRET must be at least 32 characters/,
    );
    expect(loadApiConfig({ DATABASE_URL: 'postgres://x/y', AUTH_SECRET: 'x'.repeat(32) }).AUTH_SECRET).toHaveLength(32);
  });

  it('defaults to the Redis profile when REDIS_URL is set, Postgres-only otherwise', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://r:6379' }).QUEUE_CONNECTION).toBe('redis');
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y' }).QUEUE_CONNECTION).toBe('postgres');
  });

  it('takes a Redis Cluster from REDIS_CLUSTER_NODES, a host:port list, never together with REDIS_URL', () => {
    const nodes = '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002';
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y', REDIS_CLUSTER_NODES: nodes })).toMatchObject({
      QUEUE_CONNECTION: 'redis',
      REDIS_CLUSTER_NODES: nodes,
    });
    expect(clusterNodes(nodes)).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    for (const bad of ['10.0.0.1', 'redis://10.0.0.1:7000', '10.0.0.1:7000,', 'a:0', 'a:70000'])
      expect(() => loadConfig({ DATABASE_URL: 'postgres://x/y', REDIS_CLUSTER_NODES: bad }), bad).toThrow(
        /REDIS_CLUSTER_NODES must be a comma-separated list of host:port cluster nodes/,
      );
    expect(() =>
      loadConfig({ DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: nodes }),
    ).toThrow(/REDIS_URL and REDIS_CLUSTER_NODES are both set/);
  });

  it('puts the queues under the hash tag {QUEUE_PREFIX} on a cluster only: one Redis keeps the plain prefix', () => {
    expect(queuePrefix({ QUEUE_PREFIX: 'wms', REDIS_URL: 'redis://r:6379' })).toBe('wms');
    expect(queuePrefix({ QUEUE_PREFIX: 'wms', REDIS_CLUSTER_NODES: 'r:7000' })).toBe('{wms}');
  });

  it('stops the worker at boot with the message when a variable is wrong', () => {
    const result = spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/main.js')], {
      env: { PATH: process.env.PATH, DATABASE_URL: 'http://not-postgres' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL must be a postgres:// connection URL');
  });

  it('stops the api at boot naming DATABASE_URL when Postgres does not answer there', () => {
    const result = spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/api/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
        QUEUE_CONNECTION: 'postgres',
        PORT: '0',
        AUTH_SECRET: 'x'.repeat(40),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL');
  });

  it('stops the worker at boot naming REDIS_CLUSTER_NODES when the nodes are a single Redis, not a cluster', () => {
    const result = spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: testEnv.databaseUrl,
        REDIS_CLUSTER_NODES: new URL(testEnv.redisUrl).host,
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/REDIS_CLUSTER_NODES: cannot use the Redis Cluster at .*cluster support disabled/);
  });
});
