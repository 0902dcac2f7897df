import { connect, createServer, type Socket } from 'node:net';

/** Where a cut falls relative to the message that triggers it. */
export type CutMode =
  /** The message never reaches Postgres: the connection dies before it, so its transaction rolls back. */
  | 'before'
  /** Postgres receives and runs the message (a COMMIT commits), but its answer never reaches the client. */
  | 'after';

export interface Cut {
  /** Text of the message that triggers the cut (e.g. `COMMIT`, or part of a statement). */
  at: string;
  /** Only on a connection that has already sent this text (e.g. the statement of the request under test). */
  after?: string;
  mode: CutMode;
}

/**
 * A TCP proxy in front of Postgres that injects connection faults on chosen connections:
 * - `silence`: no data either way and no FIN or RST, as a NAT or firewall does when it forgets an idle flow;
 * - `cutOnce`: the connection drops just before or just after one chosen message, as when a network
 *   path or a server-side proxy dies mid-request.
 */
export interface PostgresProxy {
  port: number;
  /** From now on, connections whose startup message contains `marker` (e.g. an application_name) go silent. */
  silence(marker: string): void;
  /** Arms one cut; the promise resolves when it has happened (for `after`: once Postgres has answered the message). */
  cutOnce(cut: Cut): Promise<void>;
  /** While on, every connection is cut at once and new ones are refused: the database is unreachable. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  startup: string;
  /** Everything the client sent so far (bounded), to match `Cut.after`. */
  sent: string;
  cutting: boolean;
}

export async function startPostgresProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<PostgresProxy> {
  const pairs: Pair[] = [];
  let marker: string | null = null;
  let armed: { cut: Cut; fired: () => void } | null = null;
  let refusing = false;
  const silenced = (p: Pair) => marker !== null && p.startup.includes(marker);

  const cut = (pair: Pair, chunk: Buffer, mode: CutMode, done: () => void) => {
    pair.cutting = true;
    if (mode === 'before') {
      pair.client.destroy();
      pair.upstream.destroy();
      return done();
    }
    // Postgres runs the message; the client hears nothing. Done once Postgres has answered (a COMMIT committed).
    pair.upstream.write(chunk);
    pair.client.destroy();
    const end = () => {
      pair.upstream.destroy();
      done();
    };
    pair.upstream.once('data', end);
    pair.upstream.once('close', done);
  };

  const server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(targetPort, targetHost);
    const pair: Pair = { client, upstream, startup: '', sent: '', cutting: false };
    pairs.push(pair);
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (pair.startup.length < 4096) pair.startup += text;
      if (silenced(pair)) return;
      const fault = armed?.cut;
      if (fault && text.includes(fault.at) && (!fault.after || pair.sent.includes(fault.after))) {
        const { fired } = armed!;
        armed = null;
        cut(pair, chunk, fault.mode, fired);
        return;
      }
      if (armed?.cut.after) pair.sent = (pair.sent + text).slice(-65_536);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silenced(pair) && !pair.cutting) client.write(chunk);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => {
      if (!pair.cutting) upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence(m) {
      marker = m;
    },
    cutOnce(fault) {
      for (const p of pairs) p.sent = '';
      return new Promise<void>((fired) => (armed = { cut: fault, fired }));
    },
    refuse(on) {
      refusing = on;
      if (on) for (const p of pairs.splice(0)) p.client.destroy();
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
