/**
 * Small RTCP arithmetic: NTP timestamps, the REMB exponent/mantissa encoding and RTT from a reception report.
 */

const NTP_EPOCH_OFFSET_S = 2208988800; // 1900-01-01 to 1970-01-01

/** 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low 32) for Unix ms. */
export function ntpFromMs(unixMs: number): bigint {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x100000000);
  return (BigInt(seconds + NTP_EPOCH_OFFSET_S) << 32n) | BigInt(fraction >>> 0);
}

/** The middle 32 bits of an NTP timestamp, as carried in LSR. */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}

/** REMB carries the bitrate as an 18-bit mantissa and a 6-bit exponent (bitrate = mantissa << exp). */
export function rembFields(bitrate: number): { brExp: number; brMantissa: number } {
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  return { brExp: Math.min(exp, 63), brMantissa: mantissa };
}

/**
 * Round-trip time in ms from a reception report answering one of our SRs: now - (time the SR was sent) - DLSR.
 * `dlsr` is in units of 1/65536 s. Returns undefined if the result is not plausible.
 */
export function rttFromReport(nowMs: number, srSentMs: number, dlsr: number): number | undefined {
  const rtt = nowMs - srSentMs - (dlsr * 1000) / 65536;
  if (!(rtt >= 0) || rtt > 60_000) return rtt < 0 && rtt > -1 ? 0 : undefined;
  return rtt;
}
