import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.pivotrl/', 'data/', 'reports/', 'models/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The Docker engine is reached through sandboxes/engine.ts alone (connectEngine and the client's types).
    ignores: ['sandboxes/engine.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'dockerode', message: 'Use connectEngine and the client types from sandboxes/engine.ts.' }] },
      ],
    },
  },
);
