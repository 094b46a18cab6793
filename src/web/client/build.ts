/**
 * Bundles Lectern's browser client into dist/client/ (index.html and app.js, the group page; landing.html and
 * landing.js, the list of groups at `/`; recordings.js and its hls.js chunk, the recordings page served by
 * src/web/recordings; app.css for all).
 * Run by `npm run build:client` (and so by prestart/pretest); browser tests call buildClient() too.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLIENT_OUT_DIR = path.resolve(here, '../../../dist/client');

export async function buildClient(outDir: string = CLIENT_OUT_DIR): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: path.join(here, 'main.ts'), landing: path.join(here, 'landing.ts') },
    bundle: true,
    // hls.js (the HLS fallback, hlsFallback.ts) is split off and loaded when first needed.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    sourcemap: 'linked',
    minify: true,
    outdir: outDir,
    logLevel: 'warning',
  });
  // The recordings page on its own: hls.js (large) is split off and loaded on the first replay.
  await build({
    entryPoints: { recordings: path.join(here, 'recordings.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    sourcemap: 'linked',
    minify: true,
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'landing.html']) fs.copyFileSync(path.join(here, file), path.join(outDir, file));
  fs.copyFileSync(path.join(here, 'app.css'), path.join(outDir, 'app.css'));
  fs.copyFileSync(path.join(here, 'recordings.css'), path.join(outDir, 'recordings.css'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildClient().then(
    () => console.log(`client built in ${path.relative(process.cwd(), CLIENT_OUT_DIR) || '.'}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
