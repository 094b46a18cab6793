/**
 * Line-level SDP handling: splitting a description into its session part and media sections, and the final
 * touches on the descriptions werift produces for the server side.
 */

export interface SdpSection {
  /** The m= line (undefined for the session part). */
  readonly mline: string | undefined;
  /** Every line of the section, the m= line included, without line endings. */
  lines: string[];
}

export interface SdpSections {
  session: SdpSection;
  media: SdpSection[];
}

/** Splits SDP text into the session section and one section per m= line. */
export function splitSdp(sdp: string): SdpSections {
  const lines = sdp.split(/\r?\n/).map((l) => l.replace(/\s+$/, '')).filter((l) => l.length > 0);
  const session: SdpSection = { mline: undefined, lines: [] };
  const media: SdpSection[] = [];
  let current = session;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      current = { mline: line, lines: [line] };
      media.push(current);
    } else {
      current.lines.push(line);
    }
  }
  return { session, media };
}

export function joinSdp(s: SdpSections): string {
  const all = [...s.session.lines];
  for (const m of s.media) all.push(...m.lines);
  return all.join('\r\n') + '\r\n';
}

/** `a=name:value` -> value for the first such line, or undefined. */
export function attr(section: SdpSection, name: string): string | undefined {
  const prefix = `a=${name}:`;
  const line = section.lines.find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length);
}

/** The kind, port and payload types of an m= line, or undefined if it is malformed. */
export function parseMline(mline: string): { kind: string; port: number; proto: string; fmts: string[] } | undefined {
  const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+)((?: \S+)*)$/.exec(mline);
  if (!m) return undefined;
  return { kind: m[1]!, port: Number(m[2]), proto: m[3]!, fmts: m[4]!.trim().split(' ').filter(Boolean) };
}

/**
 * RFC 8839 puts `a=ice-lite` at session level only; werift writes it in every media section, where Chrome
 * ignores it (and an ICE-lite offerer whose peer does not know it is lite never gets nominated). Moves it.
 */
export function iceLiteAtSessionLevel(s: SdpSections): void {
  let found = false;
  for (const m of s.media) {
    const before = m.lines.length;
    m.lines = m.lines.filter((l) => l !== 'a=ice-lite');
    if (m.lines.length !== before) found = true;
  }
  if (!found || s.session.lines.includes('a=ice-lite')) return;
  const t = s.session.lines.findIndex((l) => l.startsWith('t='));
  s.session.lines.splice(t >= 0 ? t + 1 : s.session.lines.length, 0, 'a=ice-lite');
}

/**
 * Adds `x-google-start-bitrate` (kbit/s) to the format parameters of every video payload type, so that Chrome,
 * reading our answer, starts sending at that rate instead of ramping up from 300 kbit/s.
 */
export function addStartBitrate(s: SdpSections, kbps: number): void {
  for (const m of s.media) {
    const ml = m.mline && parseMline(m.mline);
    if (!ml || ml.kind !== 'video' || ml.port === 0) continue;
    for (const pt of ml.fmts) {
      const fmtpPrefix = `a=fmtp:${pt} `;
      const i = m.lines.findIndex((l) => l.startsWith(fmtpPrefix));
      if (i >= 0) {
        if (!m.lines[i]!.includes('x-google-start-bitrate')) m.lines[i] += `;x-google-start-bitrate=${kbps}`;
      } else {
        const rtpmap = m.lines.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
        if (rtpmap >= 0) m.lines.splice(rtpmap + 1, 0, `${fmtpPrefix}x-google-start-bitrate=${kbps}`);
      }
    }
  }
}

const CANDIDATE = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ host(.*)$/;

/**
 * NAT 1:1 (`--public-address`, config.json's `publicAddresses`): every host candidate is announced at the
 * public address(es) of its family instead, with the same port (the NAT forwards it to us unchanged). A
 * candidate of a family no public address has is kept as it is.
 */
export function announcePublicAddresses(s: SdpSections, publicAddresses: readonly string[]): void {
  if (publicAddresses.length === 0) return;
  const family = (a: string) => (a.includes(':') ? 6 : 4);
  for (const m of s.media) {
    const seen = new Set<string>();
    m.lines = m.lines.flatMap((line) => {
      const c = CANDIDATE.exec(line);
      if (!c) return [line];
      const [, foundation, component, transport, priority, address, port, rest] = c;
      const mapped = publicAddresses.filter((p) => family(p) === family(address!));
      if (mapped.length === 0) return [line];
      return mapped.flatMap((p, i) => {
        const key = `${component} ${transport} ${p} ${port}`;
        if (seen.has(key)) return [];
        seen.add(key);
        return [`a=candidate:${foundation}${i > 0 ? `p${i}` : ''} ${component} ${transport} ${Number(priority) - i} ${p} ${port} typ host${rest}`];
      });
    });
  }
}

/** The server's answer to a publisher: ICE-lite at session level, a start bitrate for video, announced addresses. */
export function finalizeAnswer(sdp: string, startBitrateKbps: number, publicAddresses: readonly string[] = []): string {
  const s = splitSdp(sdp);
  iceLiteAtSessionLevel(s);
  addStartBitrate(s, startBitrateKbps);
  announcePublicAddresses(s, publicAddresses);
  return joinSdp(s);
}

/** The server's offer to a viewer: ICE-lite at session level, announced addresses. */
export function finalizeOffer(sdp: string, publicAddresses: readonly string[] = []): string {
  const s = splitSdp(sdp);
  iceLiteAtSessionLevel(s);
  announcePublicAddresses(s, publicAddresses);
  return joinSdp(s);
}

/** Cheap structural check of SDP text before handing it to werift. */
export function looksLikeSdp(sdp: unknown): sdp is string {
  if (typeof sdp !== 'string' || sdp.length > 1_000_000) return false;
  const s = sdp.replace(/^\s+/, '');
  if (!s.startsWith('v=0')) return false;
  const { media } = splitSdp(s);
  return media.length > 0 && media.every((m) => m.mline !== undefined && parseMline(m.mline) !== undefined);
}
