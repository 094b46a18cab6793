/**
 * A publisher (werift peer fed by ffmpeg) connected to an UpConnection, plus viewers on DownConnections,
 * all on loopback. Everything created here is closed by `close()`.
 */
import { RtpPacket } from 'werift';
import { DownConnection } from '../../src/forward/DownConnection.js';
import type { IceOptions } from '../../src/forward/types.js';
import { UpConnection } from '../../src/ingest/UpConnection.js';
import { silentLogger } from '../../src/log.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia, type TestMediaOptions } from '../helpers/mediaSource.js';
import { payloadHash, ViewerPeer } from '../helpers/viewerPeer.js';

export const ICE: IceOptions = { hostAddresses: ['127.0.0.1'] };

/** What the publisher sent, by `${timestamp}:${payload hash}` and by sequence number. */
export class Published {
  readonly byKey = new Map<string, number>();
  readonly bySeq = new Map<number, string>();
  count = 0;
  add(rtp: Buffer): void {
    const p = RtpPacket.deSerialize(rtp);
    const hash = payloadHash(p.payload);
    this.byKey.set(`${p.header.timestamp}:${hash}`, p.header.sequenceNumber);
    this.bySeq.set(p.header.sequenceNumber, hash);
    this.count++;
  }
  has(ts: number, hash: string): boolean {
    return this.byKey.has(`${ts}:${hash}`);
  }
}

export interface Viewer {
  peer: ViewerPeer;
  down: DownConnection;
  closed: Promise<string>;
}

export interface Fixture {
  stun: LoopbackStun;
  media: TestMedia;
  pub: PublisherPeer;
  up: UpConnection;
  video: Published;
  audio: Published;
  viewers: Viewer[];
  addViewer(request?: string[], clientId?: string): Promise<Viewer>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  media?: TestMediaOptions;
  label?: string;
  codecs?: string[];
}

export async function startFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const stun = await startLoopbackStun();
  const media = await startTestMedia(opts.media);
  const wantVideo = opts.media?.video ?? true;
  const wantAudio = opts.media?.audio ?? true;
  const pub = createPublisherPeer({ stunPort: stun.port, video: wantVideo, audio: wantAudio });
  const video = new Published();
  const audio = new Published();
  media.onVideo((rtp) => {
    if (pub.pc.connectionState !== 'connected') return; // werift drops them anyway
    video.add(rtp);
    pub.sendVideo(rtp);
  });
  media.onAudio((rtp) => {
    if (pub.pc.connectionState !== 'connected') return;
    audio.add(rtp);
    pub.sendAudio(rtp);
  });
  const { conn: up, answerSdp } = await UpConnection.accept(
    {
      id: 'stream-1',
      label: opts.label ?? 'camera',
      clientId: 'publisher',
      username: 'speaker',
      codecs: opts.codecs ?? ['vp8', 'opus'],
      ice: ICE,
      log: silentLogger,
    },
    await pub.createOffer(),
  );
  await pub.setAnswer(answerSdp);
  await pub.connected();

  const viewers: Viewer[] = [];
  let n = 0;
  const fixture: Fixture = {
    stun,
    media,
    pub,
    up,
    video,
    audio,
    viewers,
    async addViewer(request = ['audio', 'video'], clientId = `viewer-${++n}`) {
      const peer = new ViewerPeer({ stunPort: stun.port });
      const down = new DownConnection(up, { id: up.id, clientId, request, ice: ICE, log: silentLogger });
      const closed = new Promise<string>((resolve) => down.once('close', resolve));
      const v = { peer, down, closed };
      viewers.push(v);
      const answer = await peer.answer(await down.createOffer());
      await down.setAnswer(answer);
      await peer.connected();
      return v;
    },
    async close() {
      up.close('test over');
      for (const v of viewers) v.down.close('test over');
      await Promise.all(viewers.map((v) => v.peer.close()));
      await pub.close();
      await media.close();
      await stun.close();
    },
  };
  return fixture;
}

export { sleep, waitFor } from '../helpers/wait.js';
