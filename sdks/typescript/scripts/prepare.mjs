// `npm install <path to this SDK>` runs this (npm's `prepare`): it compiles `src/` to
// `dist/`, which the package's entry points name. npm does not install a linked package's
// devDependencies, so the build needs the repository's npm workspace (`npm ci` at the
// repository root); a copy that ships `dist/` (install.sh's share directory) needs nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = dirname(dirname(fileURLToPath(import.meta.url)));

let tsc;
try {
  // Resolved from the SDK's own directory upwards: the repository workspace's TypeScript.
  tsc = createRequire(join(sdk, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}

if (tsc !== undefined) {
  try {
    execFileSync(process.execPath, [tsc, '-p', join(sdk, 'tsconfig.json')], { stdio: 'inherit' });
    process.exit(0);
  } catch {
    console.error(`spacetime-sdk: building dist/ with ${tsc} failed (see the errors above).`);
    process.exit(1);
  }
}
if (existsSync(join(sdk, 'dist', 'index.js'))) {
  process.exit(0);
}
console.error(
  'spacetime-sdk: dist/ is not built and TypeScript is not installed next to the SDK. Either run ' +
    '`npm ci` at the repository root first (then install the SDK again), or install the built copy ' +
    'that ./install.sh puts in ~/.local/share/spacetime/sdks/typescript.',
);
process.exit(1);
