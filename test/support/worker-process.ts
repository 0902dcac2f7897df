import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './env.js';
import { waitFor } from './wait-for.js';

/** A worker in its own OS process (test/support/worker-process-main.ts: the worker's main, plus test listeners). */
export interface WorkerProcess {
  process: ChildProcess;
  /** SIGKILL: no shutdown hook runs, its jobs' locks are left to expire. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorkerProcess(env: Record<string, string>, startupMs = 30_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(testEnv.root, 'dist/test/support/worker-process-main.js')], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    'the worker process to start',
    () => {
      if (child.exitCode !== null) throw new Error(`worker process exited with ${child.exitCode}`);
      return out.includes('worker started');
    },
    startupMs,
    50,
  );
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { process: child, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}
