import { describe, expect, it } from 'vitest';
import { compactNtp, ntpFromMs, rembFields, rttFromReport } from './rtcp.js';

describe('ntp', () => {
  it('converts Unix ms to NTP', () => {
    const ntp = ntpFromMs(1_000_500); // 1000.5 s after the Unix epoch
    expect(Number(ntp >> 32n)).toBe(1000 + 2208988800);
    expect(Number(ntp & 0xffffffffn)).toBe(0x80000000);
  });

  it('takes the middle 32 bits for LSR', () => {
    const ntp = (0xb44db705n << 32n) | 0x20000000n;
    expect(compactNtp(ntp)).toBe(0xb7052000);
  });
});

describe('rembFields', () => {
  it.each([
    [0, 0, 0],
    [100_000, 0, 100_000],
    [262_143, 0, 262_143],
    [262_144, 1, 131_072],
    [1_500_000, 3, 187_500],
  ])('%i bit/s -> exp %i, mantissa %i', (bitrate, exp, mantissa) => {
    const f = rembFields(bitrate);
    expect(f).toEqual({ brExp: exp, brMantissa: mantissa });
    expect(f.brMantissa).toBeLessThan(1 << 18);
    expect(f.brMantissa * 2 ** f.brExp).toBeLessThanOrEqual(bitrate);
  });
});

describe('rttFromReport', () => {
  it('subtracts the receiver delay', () => {
    expect(rttFromReport(10_100, 10_000, 65536 / 20)).toBeCloseTo(50); // 100 ms - 50 ms DLSR
  });
  it('rejects nonsense', () => {
    expect(rttFromReport(10_000, 10_000, 65536)).toBeUndefined();
    expect(rttFromReport(100_000, 0, 0)).toBeUndefined();
  });
});
