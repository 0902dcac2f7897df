import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { checkConnections, ConfigError } from '@wms/events';
import { loadApiConfig } from './api-config.js';
import { createApi } from './api.js';

async function bootstrap(): Promise<void> {
  const config = loadApiConfig();
  await checkConnections(config);
  const app = await createApi(config);
  // Fastify listens on localhost unless told otherwise; the api is reached from other hosts and containers.
  await app.listen(config.PORT, '0.0.0.0');
  const url = await app.getUrl();
  new Logger('Bootstrap').log(
    { url, dashboard: `${url}/ui/`, docs: `${url}/docs`, queueConnection: config.QUEUE_CONNECTION },
    'api listening',
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(JSON.stringify({ level: 'fatal', msg: 'api failed to start', error: (error as Error).message }));
  process.exit(1);
});
