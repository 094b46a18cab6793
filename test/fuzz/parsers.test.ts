/**
 * Parser fuzz test (seeded, reproducible): werift's RTP, RTCP, STUN and DTLS parsers and our own packet code,
 * as the server runs them behind its guards, fed tens of thousands of malformed inputs in worker threads. A
 * call that does not return within the limit, or that exhausts its thread's heap, fails the test with the
 * input that did it (`fuzzTarget` narrows a failing batch down to one input).
 */
import { describe, expect, it } from 'vitest';
import { HANGING_RTP, inputs, makers } from './inputs.js';
import { fuzzTarget } from './runInWorker.js';

const SEED = 0x1ec7e2;

describe('parser fuzz', () => {
  it('finds the reported hang in werift 0.24.4 unguarded (if this fails, werift fixed it: drop the RTP guard)', async () => {
    const finding = await fuzzTarget('rtp, unguarded', [HANGING_RTP], { limitMs: 3000 });
    expect(finding?.input).toBe(HANGING_RTP.toString('hex'));
  });

  it('unauthenticated datagrams: the guard, then what werift parses before authentication', async () => {
    const all = inputs(SEED, 30_000, [makers.rtp, makers.stun, makers.dtls, makers.rtcp, makers.noise]);
    expect(await fuzzTarget('datagram', all)).toBeUndefined();
  });

  it('decrypted compound RTCP: werift parser behind the guard, and our TWCC feedback reading', async () => {
    expect(await fuzzTarget('rtcp, decrypted', inputs(SEED + 1, 20_000, [makers.rtcp, makers.noise]))).toBeUndefined();
  });

  it('decrypted RTP payloads: keyframe detection, VP8 temporal layer and picture-id rewriting', async () => {
    expect(await fuzzTarget('rtp payload', inputs(SEED + 2, 20_000, [makers.rtp, makers.noise]))).toBeUndefined();
  });
});
