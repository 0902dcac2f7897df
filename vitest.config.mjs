import { defineConfig } from 'vitest/config';

// Tests run on the compiled output (tsc emits the decorator metadata NestJS needs); `npm test` builds first.
export default defineConfig({
  test: {
    include: ['dist/test/**/*.{spec,e2e-spec}.js'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
