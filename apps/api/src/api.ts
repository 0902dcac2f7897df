import { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AppConfig } from '@wms/events';
import helmet from 'helmet';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { DomainErrorFilter } from './common/domain-error.filter.js';
import { validationPipe } from './common/validation.pipe.js';
import { guardQueuesBoard } from './dashboard/queues-board.js';
import { ClusterIoAdapter } from './socket/socket-io.adapter.js';

/** Builds the api exactly as production runs it; main.ts and the tests both call this. */
export async function createApi(
  config: AppConfig,
  extra: ModuleMetadata['imports'] = [],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, extra), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: config.BODY_LIMIT });
  // ETags on 202s and event pages buy nothing and cost a hash of every response body.
  app.set('etag', false);
  app.use(helmet({ contentSecurityPolicy: false }));
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new DomainErrorFilter());
  app.useWebSocketAdapter(new ClusterIoAdapter(app, config));
  app.enableShutdownHooks();
  guardQueuesBoard(app);
  // The dashboard: static files, no data (everything it shows comes from the authenticated api).
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
  const vendor: [string, string][] = [
    ['preact.mjs', 'node_modules/preact/dist/preact.mjs'],
    ['hooks.mjs', 'node_modules/preact/hooks/dist/hooks.mjs'],
    ['htm.mjs', 'node_modules/htm/dist/htm.mjs'],
    ['uPlot.esm.js', 'node_modules/uplot/dist/uPlot.esm.js'],
    ['uPlot.min.css', 'node_modules/uplot/dist/uPlot.min.css'],
  ];
  for (const [file, source] of vendor)
    app.use(`/ui/vendor/${file}`, (_req: unknown, res: { sendFile(p: string): void }) =>
      res.sendFile(path.join(root, source)),
    );
  app.useStaticAssets(path.join(root, 'apps/api/public'), { prefix: '/ui/' });
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
