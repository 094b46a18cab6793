// `npm test`'s runner: vitest's two projects (vitest.config.ts), each in its own process, side by side. In one
// vitest process the two would share one worker and run one after the other. Arguments go to both
// (`npm test -- test/media.test.ts`); the exit code is non-zero if either failed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const runs = ['server', 'browser'].map(
  (project) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [vitest, 'run', '--project', project, '--passWithNoTests', ...process.argv.slice(2)], {
        stdio: 'inherit',
      });
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    }),
);
const codes = await Promise.all(runs);
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
