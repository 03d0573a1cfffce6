// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Top-level parts of src/ that a layer may be forbidden to import (everything except itself). */
const PARTS = ['api', 'core', 'runtime', 'kube', 'observability', 'state', 'admission', 'controller', 'scenario', 'cli', 'operator', 'main', 'config'];

/** One no-restricted-imports block per layer: imports of src/<part> outside `allowed` are errors. */
function layerRules(allowed) {
  return Object.entries(allowed).map(([layer, below]) => {
    const forbidden = PARTS.filter((p) => p !== layer && !below.includes(p));
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: {
        'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${forbidden.join('|')})(/|\\.js$)`, message: `src/${layer} may import only ${below.length === 0 ? 'nothing of src/' : below.join(', ')} (layers: see eslint.config.js).` }] }],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true, allowTypedFunctionExpressions: true, allowHigherOrderFunctions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use a const object with a derived union type instead of enum.' }],
      complexity: ['error', 12],
      'max-depth': ['error', 4],
      'max-params': ['error', 4],
    },
  },
  {
    // Tests: chai's property assertions (expect(x).to.be.true) read as unused expressions.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/explicit-function-return-type': 'off',
      complexity: 'off',
    },
  },
  // The layout shows the architecture: each layer of src/ imports only the layers below it (never sideways or up).
  // api < core (pure) < runtime (clock) < kube (API access, PKI) < observability < state (informers, caches, stores)
  // < admission | controller < cli, scenario < operator.ts, main.ts, config.ts (wiring).
  ...layerRules({
    api: [],
    core: ['api'],
    runtime: ['api', 'core'],
    kube: ['api', 'core', 'runtime'],
    observability: ['api', 'core', 'runtime', 'kube'],
    state: ['api', 'core', 'runtime', 'kube', 'observability'],
    admission: ['api', 'core', 'runtime', 'kube', 'observability', 'state'],
    controller: ['api', 'core', 'runtime', 'kube', 'observability', 'state'],
    scenario: ['api', 'core', 'runtime', 'kube', 'observability'],
  }),
  {
    // Only these may read the process environment (docs/development.md, Code principles 5).
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/config.ts', 'src/cli/**/*.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration in src/config.ts and pass it in.' }] },
  },
);
