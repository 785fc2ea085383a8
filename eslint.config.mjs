// typescript-eslint's recommended rules for every TypeScript file; Prettier owns the layout.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tmp/', 'build-tmp/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // cacheme reads parameter names for the container, so a parameter the body ignores is still used.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Memoized functions are handled generically (their source is read, they are applied to any arguments).
      '@typescript-eslint/no-unsafe-function-type': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    languageOptions: { globals: { ...globals.mocha } },
    // Tests reach into Sequelize's generated association methods and deliberately pass wrong types.
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
)
