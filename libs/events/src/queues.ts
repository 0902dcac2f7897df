/**
 * Queue and job names. Persistent contract: renaming one strands the jobs already waiting in Redis
 * (or in BullMQ's Postgres tables) under the old name.
 */
export const EVENTS_QUEUE = 'events';
export const PROCESS_EVENT_JOB = 'process-event';
/** One job per (queued listener, event); the job name is the listener's name. */
export const LISTENERS_QUEUE = 'event-listeners';

export const PROCESS_EVENT_ATTEMPTS = 10;

/** BullMQ rejects custom job ids containing ':'; `@` keeps (listener, event) readable and unique. */
export const listenerJobId = (listener: string, eventId: string) => `${listener}@${eventId}`;
