import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Media tests open many UDP sockets and spawn ffmpeg: keep files from fighting over 2 cores.
    fileParallelism: false,
  },
});
