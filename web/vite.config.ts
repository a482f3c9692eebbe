import { defineConfig } from 'vitest/config';

// The collector serves dist/ at the root of :16686 and answers index.html for every
// non-/api path, so assets are referenced from the root.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
