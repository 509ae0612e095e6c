// ESLint (flat config): ESLint's and typescript-eslint's recommended rules, for the TypeScript and the node scripts.
// `npm run lint`; .ci/run runs it. Formatting is Prettier's job (.prettierrc.json), except the line length of src/.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'bench/out/', 'proto/', '.tools/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A name starting with _ is unused on purpose (a field destructured away, a parameter a signature requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Header values and tokens are checked for control characters on purpose (RFC 9110 §5.5), and the attack
      // tables build them.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read YAML, JSON and rendered Kubernetes objects loosely; the schemas check those separately.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // No line in src/ over 120 characters (issue 16 §6).
    files: ['src/**/*.ts'],
    rules: { 'max-len': ['error', { code: 120, tabWidth: 2 }] },
  },
  {
    // Pending, in files held by concurrent work (issue 16): warnings until their owners fix them, then remove this.
    files: ['test/helpers/wait.ts', 'test/ops/lifecycle.test.ts', 'test/security/fuzz.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'warn',
      'preserve-caught-error': 'warn',
      'no-useless-assignment': 'warn',
      'no-regex-spaces': 'warn',
    },
  },
);
