/**
 * Guards in front of werift's parsers, where every datagram of every peer connection passes: the ICE
 * socket's demultiplexer (`StunProtocol.datagramReceived`, one per local candidate). Installed process-wide
 * by `installWeriftFixes()`, so publishers, viewers on the main thread and on forwarding threads, WHIP, WHEP
 * and the live-HLS worker's WHEP subscriber all pass through them. A datagram is dropped, and counted in
 * `packetGuardCounters`, when:
 * - its framing is unsound (`datagramProblem`: lengths, counts, versions; werift would loop or allocate on
 *   some of these, see datagramShape.ts);
 * - it is a STUN request whose USERNAME does not start with one of the agent's ufrags, or whose
 *   MESSAGE-INTEGRITY does not verify with that ufrag's password (RFC 8445 7.3; werift 0.24.4 answers any
 *   binding request and, when ICE-lite, nominates the pair it came from with USE-CANDIDATE: one spoofed
 *   datagram would redirect a viewer's media to any address);
 * - it is DTLS, RTP or RTCP from an address that is not a candidate pair's remote end of this agent (one that
 *   sent an authenticated check, or a candidate the peer signalled).
 * Past the demultiplexer, after decryption: a compound RTCP packet must be made of whole packets
 * (`RtcpPacketConverter.deSerialize`), and a DTLS handshake fragment must lie inside its message, with at
 * most `MAX_BUFFERED_FRAGMENTS` waiting for reassembly (`DtlsSocket.handleFragmentHandshake`; werift keeps
 * every incomplete fragment forever, and allocates a message as long as its header claims, up to 16 MB).
 *
 * Re-check the werift fields named here when upgrading werift; drop each guard once werift checks it.
 */
import { Connection, DtlsSocket, parseMessage, RtcpPacketConverter, StunProtocol } from 'werift';
import { datagramKind, datagramProblem, handshakeFragmentProblem, rtcpCompoundProblem } from './datagramShape.js';

/** Handshake fragments kept for reassembly per DTLS session (a flight has a few; Chromium's fit in one each). */
export const MAX_BUFFERED_FRAGMENTS = 32;

/** Datagrams and parsed units dropped, by guard, in this thread (each forwarding thread has its own). */
export type PacketGuardCounts = Record<keyof typeof packetGuardCounters, number>;

export const packetGuardCounters = {
  /** unsound framing (datagramShape.ts) */
  malformed: 0,
  /** STUN request without a valid USERNAME and MESSAGE-INTEGRITY */
  stunUnauthenticated: 0,
  /** DTLS, RTP or RTCP from an address no candidate pair has */
  unknownSource: 0,
  /** decrypted compound RTCP with a bad length */
  rtcp: 0,
  /** DTLS handshake fragments outside their message, or beyond the reassembly limit */
  dtlsFragment: 0,
};

/** The parts of werift 0.24.4's ICE agent (ice/src/ice.ts) the guard reads. */
interface WeriftAgent {
  localUsername: string;
  localPassword: string;
  userHistory: Record<string, string>;
  checkList: { protocol: unknown; remoteCandidate: { host: string; port: number } }[];
}

interface WeriftFragment {
  length: number;
  fragment_offset: number;
  fragment_length: number;
}

type Address = readonly [string, number];

const STUN_CLASS_MASK = 0x0110;
const STUN_REQUEST = 0x0000;

/** Which agent owns a local candidate's protocol, and the remote addresses that sent it authenticated checks. */
const owners = new WeakMap<object, WeriftAgent>();
const checkedRemotes = new WeakMap<WeriftAgent, Set<string>>();

let installed = false;

export function installPacketGuards(): void {
  if (installed) return;
  installed = true;

  // Both methods are private in werift's types.
  const agentProto = Connection.prototype as unknown as { ensureProtocol(this: WeriftAgent, protocol: object): void };
  const ensureProtocol = agentProto.ensureProtocol;
  agentProto.ensureProtocol = function (protocol) {
    owners.set(protocol, this);
    return ensureProtocol.call(this, protocol);
  };

  const stunProto = StunProtocol.prototype as unknown as { datagramReceived(this: object, data: Buffer, addr: Address): void };
  const datagramReceived = stunProto.datagramReceived;
  stunProto.datagramReceived = function (data, addr) {
    if (datagramProblem(data) !== undefined) {
      packetGuardCounters.malformed++;
      return;
    }
    const agent = owners.get(this);
    if (agent) {
      if (datagramKind(data) === 'stun') {
        if (!stunAcceptable(agent, data, addr)) {
          packetGuardCounters.stunUnauthenticated++;
          return;
        }
      } else if (!knownRemote(agent, this, addr)) {
        packetGuardCounters.unknownSource++;
        return;
      }
    }
    datagramReceived.call(this, data, addr);
  };

  const deSerialize = RtcpPacketConverter.deSerialize;
  RtcpPacketConverter.deSerialize = (data: Buffer) => {
    if (rtcpCompoundProblem(data) !== undefined) {
      packetGuardCounters.rtcp++;
      return [];
    }
    return deSerialize.call(RtcpPacketConverter, data);
  };

  const proto = DtlsSocket.prototype as unknown as {
    handleFragmentHandshake(this: { bufferFragmentedHandshakes: WeriftFragment[] }, m: WeriftFragment[]): WeriftFragment[];
  };
  const handleFragmentHandshake = proto.handleFragmentHandshake;
  proto.handleFragmentHandshake = function (messages) {
    const sound = messages.filter((m) => handshakeFragmentProblem(m.length, m.fragment_offset, m.fragment_length) === undefined);
    packetGuardCounters.dtlsFragment += messages.length - sound.length;
    if (this.bufferFragmentedHandshakes.length + sound.length > MAX_BUFFERED_FRAGMENTS) {
      packetGuardCounters.dtlsFragment += this.bufferFragmentedHandshakes.length;
      this.bufferFragmentedHandshakes = []; // a peer retransmits a flight whole, so starting over loses nothing
    }
    return handleFragmentHandshake.call(this, sound);
  };
}

/**
 * STUN responses and indications pass (werift matches a response to its transaction and checks it with that
 * transaction's key); a request must carry our ufrag and verify with its password. Its source is then known.
 */
function stunAcceptable(agent: WeriftAgent, data: Buffer, addr: Address): boolean {
  if ((data.readUInt16BE(0) & STUN_CLASS_MASK) !== STUN_REQUEST) return true;
  const username = parseMessage(data)?.getAttributeValue('USERNAME');
  if (typeof username !== 'string') return false;
  const ufrag = username.slice(0, username.indexOf(':'));
  const password = ufrag === agent.localUsername ? agent.localPassword : agent.userHistory[ufrag];
  if (!ufrag || !password || !parseMessage(data, Buffer.from(password, 'utf8'))) return false;
  let remotes = checkedRemotes.get(agent);
  if (!remotes) checkedRemotes.set(agent, (remotes = new Set()));
  remotes.add(`${addr[0]} ${addr[1]}`);
  return true;
}

/** Whether a candidate pair of this local candidate has `addr` at its other end, or it sent a valid check. */
function knownRemote(agent: WeriftAgent, protocol: object, addr: Address): boolean {
  for (const pair of agent.checkList) {
    if (pair.protocol === protocol && pair.remoteCandidate.port === addr[1] && pair.remoteCandidate.host === addr[0]) return true;
  }
  return checkedRemotes.get(agent)?.has(`${addr[0]} ${addr[1]}`) === true;
}
