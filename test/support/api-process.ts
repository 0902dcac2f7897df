import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { testEnv } from './env.js';
import { waitFor } from './wait-for.js';

/** A second api instance in its own OS process, as production runs it (`node dist/apps/api/src/main.js`). */
export interface ApiProcess {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** `startupMs`: how long it may take to answer (a busy machine starting several processes at once needs more). */
export async function startApiProcess(env: Record<string, string>, startupMs = 30_000): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(testEnv.root, 'dist/apps/api/src/main.js')], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    'the second api process to answer',
    async () => {
      if (child.exitCode !== null) throw new Error(`api process exited with ${child.exitCode}`);
      return (await fetch(`${url}/health/live`).catch(() => null))?.ok;
    },
    startupMs,
    100,
  );
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
