import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.pivotrl/', 'data/', 'reports/', 'models/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
