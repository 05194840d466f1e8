// Lint: typescript-eslint's type-aware rules; the ones that catch real bugs in async daemon code
// (floating promises, misused promises) are errors. The house's layering (docs/architecture.md)
// is enforced here too: each daemon room may import only the rooms listed below it.
import tseslint from 'typescript-eslint';

/**
 * Which daemon rooms each room may import (besides protocol/, which everything may). Rooms import
 * downward only; a room missing from a list is an upward or sideways import, refused by the linter.
 */
const ROOMS = {
  // The floor: nothing of ours.
  config: [],
  log: [],
  // Files and directories only this user may read (the socket's, the store's).
  files: [],
  store: ['files'],
  tokens: [],
  timers: [],
  errors: [],
  providers: ['tokens'],
  pricing: ['tokens'],
  ledger: ['errors', 'pricing', 'store', 'tokens'],
  catalog: ['config', 'errors', 'log', 'pricing', 'providers', 'tokens'],
  sessions: ['errors', 'pricing', 'store', 'tokens'],
  budget: ['errors', 'ledger', 'log', 'pricing', 'store', 'tokens'],
  // The intelligence engine is a library over the store.
  context: ['errors', 'store', 'timers', 'tokens'],
  chat: ['budget', 'catalog', 'context', 'errors', 'ledger', 'log', 'pricing', 'providers', 'sessions', 'timers', 'tokens'],
  advice: ['catalog', 'errors', 'ledger', 'pricing', 'tokens'],
  // The socket knows nothing of what its handlers do.
  server: ['errors', 'files', 'log'],
  handlers: ['advice', 'budget', 'catalog', 'chat', 'config', 'context', 'errors', 'ledger', 'log', 'pricing', 'providers', 'server', 'sessions', 'tokens'],
};

const restricted = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

const layering = [
  // protocol/ is the contract: it imports nothing of ours.
  {
    files: ['protocol/**/*.ts'],
    rules: restricted([
      { group: ['../daemon/*', '../client/*', '../test/*'], message: 'protocol/ imports nothing of ours: daemon and client share it, not the other way round' },
    ]),
  },
  // The client and the daemon share protocol/ only.
  {
    files: ['client/**/*.ts'],
    rules: restricted([{ group: ['../daemon/*', '../../daemon/*', '../../../daemon/*'], message: 'the client shares only protocol/ with the daemon' }]),
  },
  ...Object.entries(ROOMS).map(([room, allowed]) => {
    const others = Object.keys(ROOMS).filter((r) => r !== room && !allowed.includes(r));
    return {
      files: [`daemon/${room}/**/*.ts`],
      rules: restricted([
        ...(others.length
          ? [
              {
                group: others.flatMap((r) => [`../${r}`, `../${r}/*`]),
                message: `daemon/${room} may import only ${allowed.join(', ') || 'protocol/'}: rooms import downward (docs/architecture.md)`,
              },
            ]
          : []),
        { group: ['../main', '../cli', '../service', '../../client/*'], message: `daemon/${room} may not import the composition root or the client` },
      ]),
    };
  }),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/bin/*.js', 'eslint.config.mjs', 'editors/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Prettier wraps code at 160 columns but never a string; long strings are split by hand.
      // A regular expression cannot be split readably, so it may run longer.
      'max-len': ['error', { code: 160, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  ...layering,
);
