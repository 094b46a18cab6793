import fs from 'node:fs';
import type https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { generate } from 'selfsigned';

/**
 * data/cert.pem and data/key.pem, as Galène: a self-signed pair is generated (and kept) when they are missing.
 */
export async function loadOrCreateCertificate(dataDir: string): Promise<{ cert: string; key: string; generated: boolean }> {
  const certFile = path.join(dataDir, 'cert.pem');
  const keyFile = path.join(dataDir, 'key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8'), generated: false };
  }
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(certFile, pems.cert, { mode: 0o644 });
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private, generated: true };
}

/**
 * Watches data/cert.pem and data/key.pem (a renewed Let's Encrypt pair) and gives the server the new pair
 * for new connections (`setSecureContext`; open ones keep theirs). Changes are debounced, so that a pair
 * written one file after the other is read once; a pair that does not load (unreadable, mismatched key) is
 * refused with a log line and the current one kept. Returns the function that stops watching.
 */
export function watchCertificate(
  dataDir: string,
  server: https.Server,
  log: Logger,
  tlsOptions: tls.SecureContextOptions,
  debounceMs = 500,
): () => void {
  const certFile = path.join(dataDir, 'cert.pem');
  const keyFile = path.join(dataDir, 'key.pem');
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    try {
      const pair = { ...tlsOptions, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
      tls.createSecureContext(pair); // throws on a bad or mismatched pair, before the server gets it
      server.setSecureContext(pair);
      log.info({ certFile }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ certFile, keyFile, err: errorMessage(err) }, 'TLS certificate not reloaded (keeping the current one)');
    }
  };
  // The folder, not the files: renewals usually replace the files (a new inode) rather than write into them.
  const watcher = fs.watch(dataDir, (_event, name) => {
    if (name !== 'cert.pem' && name !== 'key.pem') return;
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  watcher.on('error', (err) => log.warn({ dataDir, err: errorMessage(err) }, 'cannot watch the TLS certificate'));
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
