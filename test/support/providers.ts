import { execFileSync } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
// @ts-expect-error http_ece ships no types; it is the reference implementation web-push itself uses.
import ece from 'http_ece';

const listen = (server: http.Server | https.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

export interface ReceivedMail {
  to: string;
  subject: string;
  raw: string;
}

/** A real SMTP server in-process (smtp-server); nodemailer talks SMTP to it. */
export async function startSmtp() {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '';
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), subject, raw });
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port)),
  );
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export interface SentSms {
  to: string;
  from: string;
  body: string;
}

/**
 * A local stand-in for Twilio's Messages API, reached by the real twilio SDK. Numbers steer it:
 * +15005550001 → 400 code 21211 (invalid number, permanent); +15005550002 → one 500, then accepted.
 */
export async function startTwilio() {
  const sent: SentSms[] = [];
  const calls: string[] = [];
  const flaky = new Set<string>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const form = new URLSearchParams(body);
      const to = form.get('To') ?? '';
      const reply = (status: number, json: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (!/^\/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Messages\.json$/.test(req.url ?? '') || req.method !== 'POST')
        return reply(404, { code: 20404, message: 'not found', status: 404 });
      if (!req.headers.authorization?.startsWith('Basic '))
        return reply(401, { code: 20003, message: 'Authenticate', status: 401 });
      if (to === '+15005550001')
        return reply(400, {
          code: 21211,
          message: "The 'To' number +15005550001 is not a valid phone number.",
          more_info: 'https://www.twilio.com/docs/errors/21211',
          status: 400,
        });
      if (to === '+15005550002' && !flaky.has(to)) {
        flaky.add(to);
        return reply(500, { code: 20500, message: 'Internal Server Error', status: 500 });
      }
      sent.push({ to, from: form.get('From') ?? '', body: form.get('Body') ?? '' });
      reply(201, {
        sid: `SM${randomBytes(16).toString('hex')}`,
        status: 'queued',
        to,
        from: form.get('From'),
        body: form.get('Body'),
        account_sid: 'AC' + '0'.repeat(32),
      });
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A local HTTPS push service (web-push only speaks TLS) with a throw-away certificate; it decrypts
 * each message (aes128gcm, RFC 8291) with the subscription's private key, as a browser would.
 */
export async function startPushService() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'push-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const receiver = createECDH('prime256v1');
  receiver.generateKeys();
  const authSecret = randomBytes(16).toString('base64url');
  const received: { path: string; payload: any; headers: http.IncomingHttpHeaders }[] = [];
  let nextStatus: number | null = null;
  const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (nextStatus) {
        res.writeHead(nextStatus).end();
        nextStatus = null;
        return;
      }
      const plain = ece.decrypt(Buffer.concat(chunks), { version: 'aes128gcm', privateKey: receiver, authSecret });
      received.push({ path: req.url ?? '', payload: JSON.parse(plain.toString()), headers: req.headers });
      res.writeHead(201).end();
    });
  });
  const port = await listen(server);
  return {
    caFile: cert,
    received,
    /** Answer the next push with this status (e.g. 410 Gone). */
    failNext: (status: number) => (nextStatus = status),
    /** A browser's subscription to this service; `host` may be a name for it (the certificate also covers localhost). */
    subscription: (id: string, host = '127.0.0.1') => ({
      endpoint: `https://${host}:${port}/push/${id}`,
      keys: { p256dh: receiver.getPublicKey().toString('base64url'), auth: authSecret },
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
