import { describe, expect, it } from 'vitest';
import { buildPlaylists, parseMediaPlaylist, type RunPlaylist } from './playlist.js';

const ffmpegOutput = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="r1-init.mp4"
#EXTINF:1.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T06:56:22.000+0000
r1-00000.m4s
#EXTINF:1.033000,
r1-00001.m4s
#EXTINF:1.000000,
../evil.m4s
`;

const run = (prefix: string, n: number): RunPlaylist => ({
  map: `${prefix}-init.mp4`,
  segments: Array.from({ length: n }, (_, i) => ({ uri: `${prefix}-${i}.m4s`, duration: 1 })),
});

describe('parseMediaPlaylist', () => {
  it('reads the map, durations, program date times and plain file names only', () => {
    expect(parseMediaPlaylist(ffmpegOutput)).toEqual({
      map: 'r1-init.mp4',
      segments: [
        { uri: 'r1-00000.m4s', duration: 1, programDateTime: '2026-11-24T06:56:22.000+0000' },
        { uri: 'r1-00001.m4s', duration: 1.033 },
      ],
    });
  });
});

describe('buildPlaylists', () => {
  it('keeps every segment in the EVENT playlist and the last ones in the live playlist', () => {
    const { event, live, segments } = buildPlaylists([run('a', 8)], { window: 3, ended: false });
    expect(segments).toBe(8);
    expect(event).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(event.match(/\.m4s/g)).toHaveLength(8);
    expect(live).not.toContain('PLAYLIST-TYPE');
    expect(live).toContain('#EXT-X-MEDIA-SEQUENCE:5');
    expect(live.match(/\.m4s/g)).toHaveLength(3);
    expect(live).toContain('#EXT-X-MAP:URI="a-init.mp4"');
    expect(live).not.toContain('ENDLIST');
  });

  it('joins runs with a discontinuity and a new map, counted once it leaves the window', () => {
    const runs = [run('a', 4), run('b', 2)];
    const both = buildPlaylists(runs, { window: 3, ended: true });
    expect(both.event).toMatch(/a-3\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="b-init.mp4"\n#EXTINF:1.000000,\nb-0\.m4s/);
    expect(both.live).toContain('#EXT-X-MEDIA-SEQUENCE:3');
    expect(both.live).not.toContain('DISCONTINUITY-SEQUENCE');
    expect(both.live).toContain('#EXT-X-DISCONTINUITY\n');
    expect(both.live.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    const later = buildPlaylists([run('a', 4), run('b', 5)], { window: 3, ended: false });
    expect(later.live).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(later.live).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(later.live).toContain('#EXT-X-MAP:URI="b-init.mp4"');
  });

  it('is empty but valid before the first segment', () => {
    const { live } = buildPlaylists([], { ended: false });
    expect(live.startsWith('#EXTM3U\n')).toBe(true);
    expect(live).not.toContain('.m4s');
  });
});
