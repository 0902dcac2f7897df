/** Set by scripts/test.mjs, which provisions Postgres and a private redis-server before vitest starts. */
export const testEnv = {
  /** A migrated database for this test run. */
  databaseUrl: required('TEST_DATABASE_URL'),
  /** The private redis-server of this run; tests may restart it. */
  redisUrl: required('TEST_REDIS_URL'),
  redisPort: Number(required('TEST_REDIS_PORT')),
  root: required('TEST_ROOT'),
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with "npm test", which provisions Postgres and Redis`);
  return value;
}
