// The chat page's Vite build: esbuild compiles the TSX with React's automatic JSX
// runtime (no plugin needed), and asset paths are relative so `dist/` can be served from
// any path.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  base: './',
  build: { outDir: 'dist', emptyOutDir: true },
});
