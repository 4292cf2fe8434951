// ESLint flat config: typescript-eslint's recommended + type-checked rules over src/, test/ and bench/
// (floating promises, unsafe `any`, misused promises), with the project's tsconfig for type information.
// Formatting is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused names are tsc's job (noUnusedLocals / noUnusedParameters); `_x` marks an intentional one.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
        },
      ],
      // Off until the tree is merged: with noUncheckedIndexedAccess on it flags ~26 leftover harmless
      // assertions across files other branches are rewriting; turn it on then with `eslint --fix`.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Async functions without await are deliberate: fastify handlers and methods that implement a
      // promise-returning interface (a throw inside must become a rejection, not a synchronous throw).
      '@typescript-eslint/require-await': 'off',
      // Callback APIs hand us errors typed `unknown`; passing them on unchanged is right.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // The browser console (src/ui, built by esbuild) has its own tsconfig (DOM, JSX with preact).
    files: ['src/ui/**/*.ts', 'src/ui/**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: false, project: './tsconfig.ui.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // Integration tests read the dashboard's and proxies' JSON replies through the untyped `call()`
    // helper (test/helpers/dashboard.ts); a reply of the wrong shape fails the test's own assertions.
    // Typing those replies is the remaining step to drop this override.
    files: ['test/integration/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JS scripts (runner, generators, bin): Node globals, no type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate'].map((g) => [
          g,
          'readonly',
        ]),
      ),
    },
  },
);
