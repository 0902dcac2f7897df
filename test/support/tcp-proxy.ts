import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Postgres that can make chosen connections go silent — no data either way and
 * no FIN or RST — as a NAT or firewall does when it forgets an idle flow.
 */
export interface SilencingProxy {
  port: number;
  /** From now on, connections whose startup message contains `marker` (e.g. an application_name) go silent. */
  silence(marker: string): void;
  close(): Promise<void>;
}

export async function startSilencingProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<SilencingProxy> {
  const pairs: { client: Socket; upstream: Socket; startup: string }[] = [];
  let marker: string | null = null;
  const silenced = (p: { startup: string }) => marker !== null && p.startup.includes(marker);
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream, startup: '' };
    pairs.push(pair);
    client.on('data', (chunk) => {
      if (pair.startup.length < 4096) pair.startup += chunk.toString('latin1');
      if (!silenced(pair)) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silenced(pair)) client.write(chunk);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence(m) {
      marker = m;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
