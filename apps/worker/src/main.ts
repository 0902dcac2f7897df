import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { checkConnections, ConfigError } from '@wms/events';
import { Logger as PinoLogger } from 'nestjs-pino';
import { loadWorkerConfig } from './worker-config.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  const config = loadWorkerConfig();
  await checkConnections(config);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  app.enableShutdownHooks();
  new Logger('Bootstrap').log(
    { queueConnection: config.QUEUE_CONNECTION, concurrency: config.WORKER_CONCURRENCY },
    'worker started',
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else
    console.error(JSON.stringify({ level: 'fatal', msg: 'worker failed to start', error: (error as Error).message }));
  process.exit(1);
});
