/**
 * Prints the hardware floor for the fan-out benchmark as one JSON object: the CPU cost per packet of
 * SRTP-protecting (AES-128-GCM, node:crypto) and sending ~1100-byte video RTP packets over loopback UDP.
 *
 *   npx tsx bench/floor.ts [--packets N] [--payload BYTES] [--destinations N]
 *
 * Loopback only, bounded: measurement stops after 25 s, the process after 30 s whatever happens.
 */
import { parseArgs } from 'node:util';
import { measureFloor } from './floorCore.js';

const hardStop = setTimeout(() => {
  console.error('floor: gave up after 30 s');
  process.exit(2);
}, 30_000);
hardStop.unref();

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '200000' },
    payload: { type: 'string', default: '1100' },
    destinations: { type: 'string', default: '4' },
  },
});

const result = await measureFloor({
  packets: Number(values.packets),
  payloadBytes: Number(values.payload),
  destinations: Number(values.destinations),
  budgetMs: 25_000,
});
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
