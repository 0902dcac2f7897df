import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
const cli = async (port: number, ...args: string[]) =>
  (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;

/**
 * A private Redis Cluster of `size` masters and no replicas on free ports, its nodes.conf files in a temp directory,
 * nothing persisted. `stop()` kills the servers and removes the directory.
 */
export class RedisCluster {
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** The value of REDIS_CLUSTER_NODES. */
  get nodes(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  static async start(size = 3): Promise<RedisCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'wms-redis-cluster-'));
    const ports: number[] = [];
    while (ports.length < size) {
      const port = await freePort();
      // A cluster node also listens on port + 10000 (its bus); both must be free and distinct.
      if (port + 10000 <= 65535 && !ports.some((p) => Math.abs(p - port) === 10000 || p === port)) ports.push(port);
    }
    const cluster = new RedisCluster(ports, dir);
    try {
      for (const port of ports)
        cluster.children.push(
          spawn(
            'redis-server',
            [
              '--port',
              String(port),
              '--bind',
              '127.0.0.1',
              '--dir',
              dir,
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              path.join(dir, `nodes-${port}.conf`),
              '--save',
              '',
              '--appendonly',
              'no',
            ],
            { stdio: 'ignore' },
          ),
        );
      for (const port of ports)
        await waitFor(`cluster node ${port} to answer`, async () => (await cli(port, 'PING')).includes('PONG'), 10_000);
      await run(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 30_000 },
      );
      for (const port of ports)
        await waitFor(
          `cluster node ${port} to report cluster_state:ok`,
          async () => (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
          20_000,
          100,
        );
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Runs a redis-cli command on one node (no redirections followed) and returns its raw output. */
  command(port: number, ...args: string[]): Promise<string> {
    return cli(port, ...args);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}
