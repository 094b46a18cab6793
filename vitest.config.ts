import { defineConfig } from 'vitest/config';

/** Test files that drive Chromium (test/helpers/browser.ts). */
const BROWSER = ['test/webclient*.test.ts', 'test/readme-example.test.ts', 'test/galene-client.test.ts', 'test/turn.test.ts', 'test/forward/twcc.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Media tests open many UDP sockets and spawn ffmpeg, browser tests run Chromium: within each project files
    // run one at a time, and the two projects run side by side (2 cores: about one file each).
    projects: [
      { extends: true, test: { name: 'browser', include: BROWSER, fileParallelism: false } },
      { extends: true, test: { name: 'server', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: BROWSER, fileParallelism: false } },
    ],
  },
});
