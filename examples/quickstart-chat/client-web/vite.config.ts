// The chat page's Vite build: relative asset paths, so `dist/` can be served from any path.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true },
});
