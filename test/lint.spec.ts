import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';

/** The layout's one-way dependencies, as `npm run lint` enforces them (eslint.config.mjs). */
describe('import rules', () => {
  const eslint = new ESLint({ cwd: testEnv.root });
  const problems = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(testEnv.root, file) });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it('refuses a lib that imports an app, and notifications and wms-domain importing each other', async () => {
    expect(
      await problems(
        'libs/events/src/x.ts',
        `import { createApi } from '../../../apps/api/src/api.js';\nexport const x = createApi;\n`,
      ),
    ).toHaveLength(1);
    expect(
      await problems(
        'libs/events/src/x.ts',
        `import { NotificationsModule } from '@wms/notifications';\nexport const x = NotificationsModule;\n`,
      ),
    ).toHaveLength(1);
    expect(
      await problems(
        'libs/notifications/src/x.ts',
        `import { WmsDomainModule } from '@wms/wms-domain';\nexport const x = WmsDomainModule;\n`,
      ),
    ).toHaveLength(1);
    expect(
      await problems(
        'libs/wms-domain/src/x.ts',
        `import { NotificationsModule } from '@wms/notifications';\nexport const x = NotificationsModule;\n`,
      ),
    ).toHaveLength(1);
    expect(
      await problems(
        'libs/wms-domain/src/x.ts',
        `import { WorkerModule } from '../../../apps/worker/src/worker.module.js';\nexport const x = WorkerModule;\n`,
      ),
    ).toHaveLength(1);
  });

  it('lets apps import libs, and the two domain libs import libs/events', async () => {
    expect(
      await problems(
        'apps/api/src/x.ts',
        `import { EventService } from '@wms/events';\n` +
          `import { WmsDomainModule } from '@wms/wms-domain';\n` +
          `export const x = [EventService, WmsDomainModule];\n`,
      ),
    ).toEqual([]);
    expect(
      await problems(
        'libs/notifications/src/x.ts',
        `import { EventService } from '@wms/events';\nexport const x = EventService;\n`,
      ),
    ).toEqual([]);
    expect(
      await problems(
        'libs/wms-domain/src/x.ts',
        `import { EventService } from '@wms/events';\nexport const x = EventService;\n`,
      ),
    ).toEqual([]);
  });
});
