import { EventsConfig, loadConfig } from '@wms/events';
import { NotificationsConfig } from '@wms/notifications';

/** Everything the worker process (and the CLI) reads: the sections of the libraries it runs. */
export type WorkerSettings = EventsConfig & NotificationsConfig;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerSettings =>
  loadConfig<[EventsConfig, NotificationsConfig]>([EventsConfig, NotificationsConfig], env);
