import fs from 'node:fs';
import path from 'node:path';
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
