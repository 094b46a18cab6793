import { LecternError } from '../../errors.js';
import type { IceCandidateInit } from '../../forward/peerConfig.js';

/** A trickle-ice-sdpfrag body (RFC 8840) as WHIP/WHEP clients PATCH it. */
export interface SdpFrag {
  /** The ICE credentials the fragment names (session level, or the first media section's). */
  ufrag: string | undefined;
  pwd: string | undefined;
  /** Candidates with the mid of the media section they follow (and its index among the fragment's m-lines). */
  candidates: IceCandidateInit[];
  endOfCandidates: boolean;
}

const MAX_FRAG_BYTES = 64 * 1024;

/**
 * Parses a fragment. Lines it does not know are ignored (RFC 8840 allows ice-options, group...). Throws
 * LecternError 'bad-sdpfrag' on text that is not a fragment (no `a=` line at all, binary junk, too long).
 */
export function parseSdpFrag(text: string): SdpFrag {
  if (text.length > MAX_FRAG_BYTES) throw new LecternError('bad-sdpfrag', 'the fragment is too long');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const frag: SdpFrag = { ufrag: undefined, pwd: undefined, candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  let mLineIndex = -1;
  let attributes = 0;
  for (const line of lines) {
    if (!/^[a-z]=/.test(line) || /[\u0000-\u0008\u000e-\u001f]/.test(line)) {
      throw new LecternError('bad-sdpfrag', `not an SDP fragment line: ${line.slice(0, 40)}`);
    }
    if (line.startsWith('m=')) {
      mLineIndex++;
      mid = undefined;
      continue;
    }
    if (!line.startsWith('a=')) continue;
    attributes++;
    const value = line.slice(2);
    if (value.startsWith('ice-ufrag:')) frag.ufrag ??= value.slice('ice-ufrag:'.length);
    else if (value.startsWith('ice-pwd:')) frag.pwd ??= value.slice('ice-pwd:'.length);
    else if (value.startsWith('mid:')) mid = value.slice('mid:'.length);
    else if (value === 'end-of-candidates') frag.endOfCandidates = true;
    else if (value.startsWith('candidate:')) {
      if (value.split(' ').length < 8) throw new LecternError('bad-sdpfrag', 'malformed candidate line');
      frag.candidates.push({ candidate: value, sdpMid: mid ?? null, sdpMLineIndex: mLineIndex >= 0 ? mLineIndex : 0 });
    }
  }
  if (attributes === 0) throw new LecternError('bad-sdpfrag', 'the fragment has no attribute lines');
  return frag;
}

/**
 * A full offer for an ICE restart signalled by a fragment: the client's previous offer with the new ufrag and
 * pwd in place of the old ones and the fragment's candidates in place of the old candidates.
 */
export function restartOffer(previousOffer: string, frag: SdpFrag): string {
  if (!frag.ufrag || !frag.pwd) throw new LecternError('bad-sdpfrag', 'an ICE restart needs ice-ufrag and ice-pwd');
  const out: string[] = [];
  let mid: string | undefined;
  let section = -1;
  const flush = (): void => {
    if (section < 0) return;
    for (const c of frag.candidates) {
      if (c.sdpMid === mid || (c.sdpMid === null && c.sdpMLineIndex === section)) out.push(`a=${c.candidate}`);
    }
  };
  for (const line of previousOffer.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith('m=')) {
      flush();
      section++;
      mid = undefined;
    }
    if (line.startsWith('a=candidate:') || line === 'a=end-of-candidates') continue;
    if (line.startsWith('a=ice-ufrag:')) out.push(`a=ice-ufrag:${frag.ufrag}`);
    else if (line.startsWith('a=ice-pwd:')) out.push(`a=ice-pwd:${frag.pwd}`);
    else out.push(line);
    if (line.startsWith('a=mid:')) mid = line.slice('a=mid:'.length);
  }
  flush();
  return `${out.join('\r\n')}\r\n`;
}

/** The ICE ufrag/pwd of an SDP (the first ones it states). */
export function iceCredentials(sdp: string): { ufrag: string | undefined; pwd: string | undefined } {
  return {
    ufrag: /^a=ice-ufrag:(.+?)\r?$/m.exec(sdp)?.[1],
    pwd: /^a=ice-pwd:(.+?)\r?$/m.exec(sdp)?.[1],
  };
}

/** The server's reply to an ICE restart: its new credentials and candidates, per the answer's first section. */
export function answerFrag(answerSdp: string): string {
  const { ufrag, pwd } = iceCredentials(answerSdp);
  const lines: string[] = [];
  if (ufrag) lines.push(`a=ice-ufrag:${ufrag}`);
  if (pwd) lines.push(`a=ice-pwd:${pwd}`);
  const sections = answerSdp.split(/\r?\nm=/).slice(1);
  const first = sections[0];
  if (first) {
    const mline = `m=${first.split(/\r?\n/)[0] ?? ''}`;
    const mid = /^a=mid:(.+?)\r?$/m.exec(first)?.[1];
    lines.push(mline);
    if (mid) lines.push(`a=mid:${mid}`);
    for (const l of first.split(/\r?\n/)) if (l.startsWith('a=candidate:')) lines.push(l);
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}
