/** Where a dead letter stands: waiting for an admin, retried (its job is queued again), discarded, or resolved by a retry. */
export type DeadLetterStatus = 'open' | 'retried' | 'discarded' | 'resolved';
