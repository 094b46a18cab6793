/**
 * The RTCP a server sends to and receives from a viewer's peer connection, shared by every kind of down
 * connection (DownConnection for protocol clients, WhepConnection for WHEP): feedback routed to the
 * RtpDownTrack it is about, and the sender reports (with CNAME) that let the viewer sync its tracks.
 */
import {
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  type GenericNack,
  type RtcpPacket,
  type TransportWideCC,
  type RTCRtpTransceiver,
} from 'werift';
import type { RtpDownTrack } from './RtpDownTrack.js';
import { TWCC_FEEDBACK_FORMAT } from './twcc.js';

/** RTPFB format 1 (RFC 4585 §6.2.1). */
const GENERIC_NACK = 1;

/**
 * Viewer RTCP: NACK, PLI, FIR, REMB and reception reports, routed by the SSRC we send with; TWCC feedback
 * (about the whole transport) to `onTwcc`.
 */
export function routeViewerRtcp(
  packet: RtcpPacket,
  bySsrc: ReadonlyMap<number, RtpDownTrack>,
  onTwcc?: (feedback: TransportWideCC) => void,
): void {
  switch (packet.type) {
    case RtcpTransportLayerFeedback.type: {
      const fb = (packet as RtcpTransportLayerFeedback).feedback;
      if (fb?.count === GENERIC_NACK) {
        const nack = fb as GenericNack;
        bySsrc.get(nack.mediaSourceSsrc)?.handleNack(nack.lost);
      } else if (fb?.count === TWCC_FEEDBACK_FORMAT) {
        onTwcc?.(fb as TransportWideCC);
      }
      break;
    }
    case RtcpPayloadSpecificFeedback.type: {
      const fb = (packet as RtcpPayloadSpecificFeedback).feedback;
      if (!fb) break;
      if (fb.count === ReceiverEstimatedMaxBitrate.count) {
        const remb = fb as ReceiverEstimatedMaxBitrate;
        for (const ssrc of remb.ssrcFeedbacks) bySsrc.get(ssrc)?.handleRemb(Number(remb.bitrate));
      } else if (fb.count === 1) {
        bySsrc.get(fb.mediaSsrc)?.handleKeyframeRequest(); // PLI
      } else if (fb.count === 4) {
        // FIR: the media SSRC is in the FCI entries (the header's is 0)
        for (const e of (fb as { fir?: { ssrc: number }[] }).fir ?? []) bySsrc.get(e.ssrc)?.handleKeyframeRequest();
      }
      break;
    }
    case RtcpRrPacket.type:
    case RtcpSrPacket.type:
      for (const r of (packet as RtcpRrPacket | RtcpSrPacket).reports) bySsrc.get(r.ssrc)?.handleReport(r);
      break;
  }
}

/** One sender report per track that has sent something, plus their CNAME, on the first track's transport. */
export function sendSenderReports(
  slots: Iterable<{ transceiver: RTCRtpTransceiver; track: RtpDownTrack }>,
  cname: string,
  nowMs: number,
): void {
  const packets: RtcpPacket[] = [];
  const chunks: SourceDescriptionChunk[] = [];
  let dtls: RTCRtpTransceiver['dtlsTransport'] | undefined;
  for (const { transceiver, track } of slots) {
    const sr = track.senderReport(nowMs);
    if (!sr) continue;
    dtls ??= transceiver.dtlsTransport;
    packets.push(
      new RtcpSrPacket({
        ssrc: sr.ssrc,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: sr.ntpTimestamp,
          rtpTimestamp: sr.rtpTimestamp,
          packetCount: sr.packetCount,
          octetCount: sr.octetCount,
        }),
      }),
    );
    chunks.push(new SourceDescriptionChunk({ source: sr.ssrc, items: [new SourceDescriptionItem({ type: 1, text: cname })] }));
  }
  if (!dtls || dtls.state !== 'connected' || packets.length === 0) return;
  packets.push(new RtcpSourceDescriptionPacket({ chunks }));
  dtls.sendRtcp(packets).catch(() => undefined);
}
