// @ts-check
// Lint rules, and the one-way dependencies of the layout (DESIGN.md "Where things live") as import rules:
// apps may import libs; libs/events imports nothing of ours; notifications and wms-domain never import each
// other; no lib imports an app. A wrong import fails `npm run lint`, and so CI.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const appImports = {
  group: ['**/apps/**', '*/apps/*'],
  message: 'a lib never imports an app: move the shared piece into a lib',
};
const lib = (name) => ({ group: [`@wms/${name}`, `@wms/${name}/*`, `**/libs/${name}/**`] });

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'test-artifacts/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    rules: {
      // Underscore-prefixed parameters are deliberately unused (interface signatures, Nest's createParamDecorator).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  // TypeScript itself reports undefined names, with types; the core rule only knows plain JavaScript.
  { files: ['**/*.ts'], rules: { 'no-undef': 'off' } },
  // The dashboard runs in the browser.
  { files: ['apps/api/public/**/*.js'], languageOptions: { globals: globals.browser } },
  // Tests read JSON answers of every shape; typing each body would restate the api's DTOs in every assertion.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['libs/events/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            appImports,
            { ...lib('notifications'), message: 'libs/events imports nothing of ours' },
            { ...lib('wms-domain'), message: 'libs/events imports nothing of ours' },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/notifications/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            appImports,
            { ...lib('wms-domain'), message: 'notifications and wms-domain never import each other' },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/wms-domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            appImports,
            { ...lib('notifications'), message: 'notifications and wms-domain never import each other' },
          ],
        },
      ],
    },
  },
);
