import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** Test files that drive Chromium: those that import test/helpers/browser.ts. */
const BROWSER = fs
  .readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.posix.join('test', f.split(path.sep).join('/')))
  .filter((f) => /from '(\.\.?\/)+helpers\/browser\.js'/.test(fs.readFileSync(f, 'utf8')));

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Media tests open many UDP sockets and spawn ffmpeg, browser tests run Chromium: within each project files
    // run one at a time; `npm test` (scripts/test.mjs) runs the two projects side by side, a process each
    // (2 cores: about one file each).
    projects: [
      { extends: true, test: { name: 'browser', include: BROWSER, fileParallelism: false } },
      { extends: true, test: { name: 'server', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: BROWSER, fileParallelism: false } },
    ],
  },
});
