import { beforeAll, describe, expect, it } from 'vitest';
import { DtlsServer, RTCDtlsTransport, RtcpPacketConverter } from 'werift';
import { installPacketGuards, MAX_BUFFERED_FRAGMENTS, packetGuardCounters } from './packetGuards.js';

/** A DTLS handshake record (epoch 0) holding one ClientHello fragment: message length, offset, fragment length. */
function handshakeRecord(length: number, offset: number, fragmentLength: number): Buffer {
  const f = Buffer.alloc(12 + fragmentLength);
  f[0] = 1;
  f.writeUIntBE(length, 1, 3);
  f.writeUIntBE(offset, 6, 3);
  f.writeUIntBE(fragmentLength, 9, 3);
  const h = Buffer.alloc(13);
  h[0] = 22;
  h[1] = 0xfe;
  h[2] = 0xfd;
  h.writeUInt16BE(f.length, 11);
  return Buffer.concat([h, f]);
}

interface DtlsInternals {
  udpOnMessage(b: Buffer): void;
  bufferFragmentedHandshakes: unknown[];
}

describe('packet guards past the demultiplexer', () => {
  let dtls: DtlsInternals;

  beforeAll(async () => {
    installPacketGuards();
    const cert = await RTCDtlsTransport.SetupCertificate();
    const transport = { type: 'test', address: {}, onData: () => undefined, send: async () => undefined, close: async () => undefined };
    dtls = new DtlsServer({ cert: cert.certPem, key: cert.privateKey, signatureHash: cert.signatureHash, transport } as never) as unknown as DtlsInternals;
  });

  it('a DTLS session keeps at most MAX_BUFFERED_FRAGMENTS incomplete handshake fragments (werift keeps them all)', () => {
    for (let i = 0; i < 10 * MAX_BUFFERED_FRAGMENTS; i++) {
      dtls.udpOnMessage(handshakeRecord(10_000, 8 * i, 8)); // never the last fragment
      expect(dtls.bufferFragmentedHandshakes.length).toBeLessThanOrEqual(MAX_BUFFERED_FRAGMENTS);
    }
    expect(dtls.bufferFragmentedHandshakes.length).toBeGreaterThan(0);
  });

  it('drops a fragment that claims a message of 16 MB or lies outside its message', () => {
    dtls.bufferFragmentedHandshakes = [];
    const before = packetGuardCounters.dtlsFragment;
    dtls.udpOnMessage(handshakeRecord(0xffffff, 0, 1));
    dtls.udpOnMessage(handshakeRecord(100, 95, 10));
    expect(dtls.bufferFragmentedHandshakes).toEqual([]);
    expect(packetGuardCounters.dtlsFragment).toBe(before + 2);
  });

  it('decrypted compound RTCP with a length past its end parses to nothing; a sound one parses', () => {
    const rr = Buffer.from(`81c90007${'00'.repeat(28)}`, 'hex');
    const pli = Buffer.from(`81ce0002${'00'.repeat(8)}`, 'hex');
    expect(RtcpPacketConverter.deSerialize(Buffer.concat([rr, pli])).map((p) => p.type)).toEqual([201, 206]);
    const before = packetGuardCounters.rtcp;
    const cut = Buffer.concat([rr, pli.subarray(0, 8)]);
    expect(RtcpPacketConverter.deSerialize(cut)).toEqual([]);
    expect(packetGuardCounters.rtcp).toBe(before + 1);
  });
});
