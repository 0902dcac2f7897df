import type { ApiSettings } from './api-config.js';
import { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { ReadRetryInterceptor } from './common/read-retry.interceptor.js';
import { DomainErrorFilter, errorBody } from './common/domain-error.filter.js';
import { validationPipe } from './common/validation.pipe.js';
import { jsonDepth, MAX_JSON_DEPTH, refuseBadText, tooDeep } from './common/request-text.js';
import { guardQueuesBoard } from './dashboard/queues-board.js';
import { BATCH_BODY_LIMIT, BATCH_PATH } from './events/publish-event.dto.js';
import { ClusterIoAdapter } from './socket/socket-io.adapter.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The dashboard's third-party modules, served from node_modules under /ui/vendor/. */
const VENDOR_DIRS = [
  'node_modules/preact/dist',
  'node_modules/preact/hooks/dist',
  'node_modules/htm/dist',
  'node_modules/uplot/dist',
];
const VENDOR_FILES = ['preact.mjs', 'hooks.mjs', 'htm.mjs', 'uPlot.esm.js', 'uPlot.min.css'];

/** POST /warehouses/:wh/scans/batch: 500 scans of up to 2 kB each. */
const SCAN_BATCH_BODY_LIMIT = 1024 * 1024;

/** `64kb` / `1mb` / `512b` (BODY_LIMIT's format) in bytes. */
function byteSize(limit: string): number {
  const [, n, unit] = /^(\d+)(b|kb|mb)$/i.exec(limit)!;
  return Number(n) * { b: 1, kb: 1024, mb: 1024 * 1024 }[unit.toLowerCase() as 'b' | 'kb' | 'mb'];
}

/** Builds the api exactly as production runs it; main.ts and the tests both call this. */
export async function createApi(
  config: ApiSettings,
  extra: ModuleMetadata['imports'] = [],
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, extra),
    new FastifyAdapter({
      bodyLimit: byteSize(config.BODY_LIMIT),
      // A malformed URL or an over-long path parameter is answered by the router before any hook or filter runs:
      // in the same error shape as everything else.
      frameworkErrors: (error: Error, _req: FastifyRequest, reply: FastifyReply) => {
        const body = errorBody(error);
        void reply.status(body.statusCode).send(body);
      },
    }),
    { bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  // POST /events/batch has its own body limit (registered before Nest adds the routes, at init).
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.url === BATCH_PATH) route.bodyLimit = BATCH_BODY_LIMIT;
    });
  const json = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  // A JSON request without a body (a DELETE that sets Content-Type) gets `{}`, as on Express, not a 400.
  app.useBodyParser<http.Server>('application/json', { bodyLimit: byteSize(config.BODY_LIMIT) }, (req, body, done) => {
    if (body.length === 0) return done(null, {});
    // Decoded once: the depth scan and the parser read the same text.
    const text = body.toString('utf8');
    if (jsonDepth(text) > MAX_JSON_DEPTH) return done(tooDeep(), undefined);
    json(req, text, done);
  });
  // A batch of up to 500 queued scans is larger than any single request: its route has its own limit.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.url.endsWith('/scans/batch')) route.bodyLimit = SCAN_BATCH_BODY_LIMIT;
    });
  // NUL and lone surrogates anywhere in what the api reads: refused in one place, before validation.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preValidation', async (req) =>
      refuseBadText(req, req.routeOptions.url === BATCH_PATH ? 'items' : undefined),
    );
  // Helmet's security headers on every answer, from one middleware built here: @fastify/helmet builds helmet's
  // middleware chain again on every request, plus an async hook (2.7 % of the api's CPU under `npm run bench`).
  const securityHeaders = helmet({ contentSecurityPolicy: false });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (error) => done(error as Error)));
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new DomainErrorFilter());
  app.useGlobalInterceptors(new ReadRetryInterceptor());
  app.useWebSocketAdapter(new ClusterIoAdapter(app, config));
  app.enableShutdownHooks();
  guardQueuesBoard(app);
  // The dashboard: static files, no data (everything it shows comes from the authenticated api).
  app.useStaticAssets({
    root: path.join(root, 'apps/api/public'),
    prefix: '/ui/',
    redirect: true,
    decorateReply: false,
  });
  app.useStaticAssets({
    root: VENDOR_DIRS.map((dir) => path.join(root, dir)),
    prefix: '/ui/vendor/',
    allowedPath: (pathName) => VENDOR_FILES.includes(pathName.slice(1)),
    decorateReply: false,
  });
  if (config.OPENAPI_ENABLED) {
    const doc = new DocumentBuilder()
      .setTitle('WMS event backbone')
      .setDescription('Publish, query and follow warehouse events.')
      .setVersion('0.1.0')
      .build();
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), {
      jsonDocumentUrl: 'docs/openapi.json',
    });
  }
  return app;
}
