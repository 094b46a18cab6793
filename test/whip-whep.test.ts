import { randomBytes } from 'node:crypto';
import { RtpPacket } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { vp8BodyHash } from './helpers/simulcastPublisher.js';
import { payloadHash } from './helpers/viewerPeer.js';
import { waitFor } from './helpers/wait.js';
import { WhepPeer } from './helpers/whepPeer.js';
import { signHs256 } from './helpers/jwt.js';

const hsKey = randomBytes(32);
const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

let server: TestServer;
let stun: LoopbackStun;
let media: TestMedia;
/** Payload hashes of every video packet the test source produced: what a viewer gets must be among them. */
const sentVideo = new Set<string>();
const sentBodies = new Set<string>();
const cleanups: (() => Promise<unknown> | void)[] = [];

interface Whip {
  peer: PublisherPeer;
  location: string;
  etag: string;
  answer: string;
}

function url(path: string): string {
  return new URL(path, server.url).toString();
}

function post(group: string, kind: 'whip' | 'whep', body: string, headers: Record<string, string> = {}) {
  return fetch(url(`/group/${group}/.${kind}`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...headers },
    body,
  });
}

async function whipPublish(group: string, token?: string): Promise<Whip> {
  const peer = createPublisherPeer({ stunPort: stun.port });
  cleanups.push(() => peer.close());
  const res = await post(group, 'whip', await peer.createOffer(), token ? { Authorization: `Bearer ${token}` } : {});
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${text}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/sdp/);
  expect(res.headers.get('link')).toBeNull(); // no ICE servers configured
  const location = res.headers.get('location')!;
  expect(location).toMatch(new RegExp(`^/group/${group}/\\.whip/[A-Za-z0-9_-]+$`));
  await peer.setAnswer(text);
  const offV = media.onVideo((rtp) => peer.sendVideo(rtp));
  const offA = media.onAudio((rtp) => peer.sendAudio(rtp));
  cleanups.push(() => void (offV(), offA()));
  return { peer, location, etag: res.headers.get('etag')!, answer: text };
}

async function whepWatch(group: string, headers: Record<string, string> = {}) {
  const viewer = new WhepPeer(stun.port);
  cleanups.push(() => viewer.close());
  const res = await post(group, 'whep', await viewer.offer(), headers);
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHEP POST: ${res.status} ${text}`);
  await viewer.setAnswer(text);
  return { viewer, location: res.headers.get('location')!, etag: res.headers.get('etag')! };
}

function del(location: string, headers: Record<string, string> = {}) {
  return fetch(url(location), { method: 'DELETE', headers });
}

function patch(location: string, body: string, headers: Record<string, string> = {}) {
  return fetch(url(location), {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers },
    body,
  });
}

/** A trickle-ice-sdpfrag from an offer: its credentials, first m-line and mid, and its candidates. */
function fragOf(sdp: string): string {
  const lines = sdp.split('\r\n');
  const pick = (p: string) => lines.find((l) => l.startsWith(p));
  const out = [pick('a=ice-ufrag:'), pick('a=ice-pwd:'), pick('m='), pick('a=mid:')];
  out.push(...lines.filter((l) => l.startsWith('a=candidate:')));
  return `${out.join('\r\n')}\r\n`;
}

const allSent = (hashes: { hash: string }[]) => hashes.every((h) => sentVideo.has(h.hash));
/** For WHEP viewers, which hash the VP8 frame data: the server rewrites picture ids when it follows a new publisher. */
const allSentBodies = (hashes: { hash: string }[]) => hashes.every((h) => sentBodies.has(h.hash));

beforeAll(async () => {
  stun = await startLoopbackStun();
  server = await startTestServer({
    groups: {
      lecture: {
        users: {
          whip: { password: { type: 'wildcard' }, permissions: ['present'] },
          ann: { password: 'ann-pw', permissions: ['message'] },
        },
        'wildcard-user': { password: { type: 'wildcard' }, permissions: [] },
      },
      secure: {
        authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        users: { op: { password: 'op-pw', permissions: 'op' } },
      },
    },
  });
  media = await startTestMedia({ gop: 30 });
  media.onVideo((rtp) => {
    const payload = RtpPacket.deSerialize(rtp).payload;
    sentVideo.add(payloadHash(payload));
    sentBodies.add(vp8BodyHash(payload));
  });
  await media.firstVideo();
}, 20_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await media?.close();
  await server?.stop();
  await stun?.close();
});

describe('WHIP', () => {
  it('publishes VP8+Opus that a WebSocket viewer receives; DELETE ends the stream and the client leaves', async () => {
    const ann = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'ann', password: 'ann-pw', stunPort: stun.port });
    cleanups.push(() => ann.close());
    ann.request();
    const whip = await whipPublish('lecture');
    const added = await ann.ws.next((m) => m.type === 'user' && m.kind === 'add' && m.username === 'whip');
    expect(added.permissions).toEqual(['present']);

    // A viewer attached before the first keyframe gets packets from then on, so wait for one (1 s GOP here).
    const decodable = () => [...ann.streams.values()].some((s) => s.viewer.video.length > 30 && s.viewer.video.some((p) => p.keyframe));
    await waitFor(decodable, 30_000, 'video with a keyframe at the viewer'); // generous: the shared test machine is often saturated
    const stream = [...ann.streams.values()].find((s) => s.username === 'whip')!;
    expect(stream.label).toBe('');
    expect(stream.source).toBe(added.id);
    expect(stream.viewer.video.some((p) => p.keyframe)).toBe(true);
    expect(allSent(stream.viewer.video)).toBe(true);
    await waitFor(() => stream.viewer.audio.length > 10, 10_000, 'audio at the viewer');

    const bad = await del(whip.location, { 'If-Match': '"not-the-etag"' });
    expect(bad.status).toBe(412);
    expect(await bad.text()).toMatch(/ETag/);
    const res = await del(whip.location, { 'If-Match': whip.etag });
    expect(res.status).toBe(200);
    await ann.ws.next((m) => m.type === 'close' && m.id === stream.id, 5000);
    await ann.ws.next((m) => m.type === 'user' && m.kind === 'delete' && m.id === added.id, 5000);
    expect((await del(whip.location)).status).toBe(404);
  }, 60_000);

  it('PATCH: trickle candidates are accepted, a bad If-Match is 412, an ICE restart answers new credentials and media resumes', async () => {
    const whip = await whipPublish('lecture');
    const { viewer, location } = await whepWatch('lecture');
    await waitFor(() => viewer.video.length > 20, 15_000, 'WHEP video before the restart');

    const offer = whip.peer.pc.localDescription!.sdp;
    const trickle = await patch(whip.location, fragOf(offer), { 'If-Match': whip.etag });
    expect(trickle.status).toBe(204);
    expect((await patch(whip.location, fragOf(offer), { 'If-Match': '"stale"' })).status).toBe(412);
    const wrongType = await patch(whip.location, fragOf(offer), { 'Content-Type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('accept')).toBe('application/trickle-ice-sdpfrag');
    const garbage = await patch(whip.location, '\u0001\u0002 not a fragment');
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toMatch(/bad SDP fragment/);

    const restartOffer = await whip.peer.createOffer({ iceRestart: true });
    const restart = await patch(whip.location, fragOf(restartOffer), { 'If-Match': '*' });
    expect(restart.status).toBe(200);
    expect(restart.headers.get('content-type')).toMatch(/^application\/trickle-ice-sdpfrag/);
    const newEtag = restart.headers.get('etag');
    expect(newEtag).toBeTruthy();
    expect(newEtag).not.toBe(whip.etag);
    const frag = await restart.text();
    const ufrag = /a=ice-ufrag:(\S+)/.exec(frag)?.[1];
    const pwd = /a=ice-pwd:(\S+)/.exec(frag)?.[1];
    expect(ufrag).toBeTruthy();
    expect(ufrag).not.toBe(/a=ice-ufrag:(\S+)/.exec(whip.answer)?.[1]);
    expect(frag).toMatch(/a=candidate:/);
    // the client's new remote description: the old answer with the server's new credentials and candidates
    const candidates = frag.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
    const answer = whip.answer
      .replace(/a=ice-ufrag:\S+/g, `a=ice-ufrag:${ufrag}`)
      .replace(/a=ice-pwd:\S+/g, `a=ice-pwd:${pwd}`)
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate:'))
      .flatMap((l) => (l.startsWith('a=mid:') ? [l, ...candidates] : [l]))
      .join('\r\n');
    await whip.peer.setAnswer(answer);
    const before = viewer.video.length;
    await waitFor(() => viewer.video.length > before + 60, 15_000, 'WHEP video after the restart');
    expect(allSentBodies(viewer.video)).toBe(true);
    expect((await patch(whip.location, fragOf(offer), { 'If-Match': whip.etag })).status).toBe(412);

    expect((await del(location)).status).toBe(200);
    expect((await del(whip.location)).status).toBe(200);
  }, 45_000);
});

describe('WHEP', () => {
  it('a viewer that comes first receives the lecture when it starts, follows a new publisher, and DELETE ends it', async () => {
    const { viewer, location, etag } = await whepWatch('lecture');
    expect(location).toMatch(/^\/group\/lecture\/\.whep\/[A-Za-z0-9_-]+$/);
    expect(etag).toMatch(/^".+"$/);
    await viewer.connected();
    expect(viewer.video.length).toBe(0);

    const first = await whipPublish('lecture');
    // The stream is attached from its first packets on (a keyframe follows within a GOP, 1 s here)
    await waitFor(
      () => viewer.video.some((p) => p.keyframe) && viewer.video.length > 30 && viewer.audio.length > 10,
      15_000,
      'the lecture (a keyframe, video and audio) at the WHEP viewer',
    );
    expect(allSentBodies(viewer.video)).toBe(true);
    expect(new Set(viewer.video.map((p) => p.payloadType))).toEqual(new Set([96]));

    expect((await del(first.location)).status).toBe(200);
    const second = await whipPublish('lecture');
    const before = viewer.video.length;
    await waitFor(() => viewer.video.length > before + 30, 15_000, 'the second publisher at the WHEP viewer');
    expect(allSentBodies(viewer.video)).toBe(true);

    expect((await del(location, { 'If-Match': etag })).status).toBe(200);
    expect((await patch(location, fragOf(viewer.pc.localDescription!.sdp))).status).toBe(404);
    const after = viewer.video.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(viewer.video.length - after).toBeLessThan(5); // in flight at most: the server stopped sending
    expect((await del(second.location)).status).toBe(200);
  }, 50_000);
});

describe('authorisation and bad input', () => {
  it('needs a valid bearer token where the group has no usable credentials: 401, 403, then 201', async () => {
    const offer = await new WhepPeer(stun.port).offer();
    const none = await post('secure', 'whip', offer);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.text()).toMatch(/not authorised/);

    const now = Math.floor(Date.now() / 1000);
    const aud = `${server.url}/group/secure/`;
    const presenter = jwt({ sub: 'speaker', aud, permissions: ['present'], iat: now, exp: now + 120 });
    const forged = `${presenter.slice(0, presenter.lastIndexOf('.'))}.${randomBytes(32).toString('base64url')}`;
    expect((await post('secure', 'whip', offer, { Authorization: `Bearer ${forged}` })).status).toBe(401);

    const watcher = jwt({ sub: 'student', aud, permissions: [], iat: now, exp: now + 120 });
    const forbidden = await post('secure', 'whip', offer, { Authorization: `Bearer ${watcher}` });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).toMatch(/present/);
    expect((await post('secure', 'whep', offer, { Authorization: `Bearer ${forged}` })).status).toBe(401);
    const watching = await whepWatch('secure', { Authorization: `Bearer ${watcher}` });
    expect((await del(watching.location)).status).toBe(401); // the session's token is needed
    expect((await del(watching.location, { Authorization: `Bearer ${watcher}` })).status).toBe(200);

    const whip = await whipPublish('secure', presenter);
    const op = await MediaClient.join({ url: server.wsUrl, group: 'secure', username: 'op', password: 'op-pw', stunPort: stun.port });
    cleanups.push(() => op.close());
    const joined = await op.ws.next((m) => m.type === 'user' && m.kind === 'add' && m.username === 'speaker');
    expect(joined.permissions).toEqual(['present']);
    expect((await del(whip.location, { Authorization: `Bearer ${presenter}` })).status).toBe(200);
    await op.ws.next((m) => m.type === 'user' && m.kind === 'delete' && m.id === joined.id);
  }, 30_000);

  it('garbage SDP is 400, wrong content type 415, unknown group or session 404, other methods 405; others keep being served', async () => {
    const whip = await whipPublish('lecture');
    const { viewer, location } = await whepWatch('lecture');
    await waitFor(() => viewer.video.length > 20, 15_000, 'WHEP video');

    for (const kind of ['whip', 'whep'] as const) {
      const garbage = await post('lecture', kind, 'v=0\r\nthis is not sdp\r\n\u0000\u00ff');
      expect(garbage.status).toBe(400);
      expect(await garbage.text()).toMatch(/SDP/);
      const noMedia = await post('lecture', kind, 'hello');
      expect(noMedia.status).toBe(400);
      const wrongType = await post('lecture', kind, 'v=0', { 'Content-Type': 'application/json' });
      expect(wrongType.status).toBe(415);
      expect(wrongType.headers.get('accept')).toBe('application/sdp');
      expect(await wrongType.text()).toMatch(/application\/sdp/);
      expect((await post('no-such-group', kind, 'v=0')).status).toBe(404);
      const get = await fetch(url(`/group/lecture/.${kind}`));
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('OPTIONS, POST');
      const options = await fetch(url(`/group/lecture/.${kind}`), { method: 'OPTIONS' });
      expect(options.status).toBe(204);
      expect(options.headers.get('accept-post')).toBe('application/sdp');
      expect((await del(`/group/lecture/.${kind}/nope`)).status).toBe(404);
    }
    expect((await fetch(url(location), { method: 'GET' })).status).toBe(405);
    expect((await del(location.replace('.whep', '.whip'))).status).toBe(404); // a WHEP id is no WHIP session
    // an SDP that parses but offers nothing we can use
    const noCodec = (await new WhepPeer(stun.port).offer()).replace(/VP8/g, 'XYZ').replace(/opus/g, 'abc');
    expect((await post('lecture', 'whep', noCodec)).status).toBe(400);
    expect((await post('lecture', 'whip', noCodec)).status).toBe(400);

    const before = viewer.video.length;
    await waitFor(() => viewer.video.length > before + 30, 10_000, 'the WHEP viewer still served');
    expect((await del(location)).status).toBe(200);
    expect((await del(whip.location)).status).toBe(200);
  }, 40_000);
});
