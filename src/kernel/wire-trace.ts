/**
 * A real capture as the trace the monitors read. The wire shows segments only, so this module
 * splits them into connections (by 4-tuple) and incarnations (a SYN with a new ISN starts one),
 * and infers, from each side's own segments, what that side must have done: a side that sends a
 * SYN is in SYN-SENT, one whose ACK covers the peer's FIN has taken it (CLOSE-WAIT, CLOSING or
 * TIME-WAIT, RFC 9293 §3.10.7.4 eighth step), one whose FIN is acknowledged leaves FIN-WAIT-1,
 * CLOSING or LAST-ACK. A segment counts as accepted once the receiver's own ACK covers it.
 *
 * What the wire cannot show is not made up: the end of a TIME-WAIT is assumed at 2·MSL after its
 * last restart by a FIN (Linux's fixed 60 s, `TCP_TIMEWAIT_LEN`) unless a RST or a new SYN ends it
 * earlier, so a RST the TIME-WAIT side sends before then is a violation (C9) and one after it is
 * not. Socket calls are not on the wire: the monitors that read them (bind-in-use, abort, stream)
 * and those that judge the endpoint's own state changes (legal-transitions, termination) are not
 * run on captures.
 *
 * Layer: src/kernel sits beside the CLI; this file uses only tcp, world and report (the reader).
 */
import { parseIpv4 } from '../net/address.js';
import type { CapturedTcp } from '../report/pcap-read.js';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe } from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';

/** Linux's TIME-WAIT length (include/net/tcp.h `TCP_TIMEWAIT_LEN`), not a sysctl. */
export const LINUX_TIME_WAIT_US = 60_000_000;

export interface WireTraceOptions {
  /** How long TIME-WAIT lasts; Linux's 60 s by default. */
  readonly timeWaitUs?: number;
}

/** One incarnation of a 4-tuple as the capture shows it. */
export interface WireConnection {
  /** `10.0.0.2:44722 <-> 10.0.0.1:8848` (client first when a SYN was seen). */
  readonly tuple: string;
  readonly incarnation: number;
  readonly client: ConnInfo;
  readonly server: ConnInfo;
  readonly firstFrame: number;
  lastFrame: number;
  /** Segments seen from the client and from the server. */
  fromClient: number;
  fromServer: number;
  /** The capture began after this incarnation's SYN. */
  readonly midStream: boolean;
}

export interface WireTrace {
  readonly events: TraceEvent[];
  /** For each event, the frame number of the packet it came from (inferred events: the packet that showed them). */
  readonly frameOfEvent: number[];
  readonly connections: WireConnection[];
  /** Capture time of the first packet, µs since the epoch; event times are relative to it. */
  readonly startUs: number;
  /** Time of the last packet, relative. */
  readonly endUs: number;
  /** True when no segment was sent twice and none was ACKed out of order: the close-shape monitor applies. */
  readonly cleanNetwork: boolean;
  /** Printable addresses of the numbers in segments (IPv6 addresses get stand-in numbers 0.0.0.n). */
  readonly addressOf: ReadonlyMap<number, string>;
}

interface Side {
  readonly conn: ConnInfo;
  state: TcpState;
  /** Our ISN, once we sent a SYN. */
  isn: number | null;
  /** One past the highest sequence number we sent. */
  sndMax: number | null;
  /** Sequence number our FIN occupies, once sent. */
  finSeq: number | null;
  /** What of the peer's sequence space we have taken (our RCV.NXT, from our own ACKs). */
  rcvNxt: number | null;
  /** The peer's data and FIN segments we have not yet acknowledged, with when they came. */
  readonly pending: { seg: Segment; atUs: number; frame: number }[];
  /** When the current TIME-WAIT (re)started. */
  timeWaitSinceUs: number;
  /** One past the peer's sequence space seen in order so far (what a receiver at the capture point has). */
  inOrderNxt: number | null;
  tookPeerFin: boolean;
  /** The peer's FIN, seen in order, waiting for our next ACK to show we had reached it. */
  finArrived: { seg: Segment; atUs: number } | null;
  /**
   * How long after one of our segments passes the capture point the peer's answer to it can
   * pass (from the handshake: SYN to SYN,ACK, SYN,ACK to ACK); 0 when unknown. An answer seen
   * sooner was sent before our segment arrived.
   */
  answerGapUs: number;
  /** When our last SYN or SYN,ACK passed, to measure `answerGapUs`. */
  synAtUs: number;
}

interface Incarnation {
  readonly info: WireConnection;
  readonly client: Side;
  readonly server: Side;
  /** Segments seen, by direction, to tell retransmissions. */
}

interface Tuple {
  readonly incarnations: Incarnation[];
}

/** Turn the TCP packets of a capture, in capture order, into a trace with inferred states. */
export function wireTrace(packets: readonly CapturedTcp[], options: WireTraceOptions = {}): WireTrace {
  return new WireTraceBuilder(options.timeWaitUs ?? LINUX_TIME_WAIT_US).build(packets);
}

class WireTraceBuilder {
  private readonly events: TraceEvent[] = [];
  private readonly frameOfEvent: number[] = [];
  private readonly tuples = new Map<string, Tuple>();
  private readonly connections: WireConnection[] = [];
  private readonly addressNumbers = new Map<string, number>();
  private readonly addressOf = new Map<number, string>();
  private readonly timeWaits = new Set<Side>();
  private nextConnId = 1;
  private nextSegId = 1;
  private frame = 0;
  private clean = true;

  constructor(private readonly timeWaitUs: number) {}

  build(packets: readonly CapturedTcp[]): WireTrace {
    const startUs = packets[0]?.atUs ?? 0;
    let endUs = 0;
    for (const packet of packets) {
      const atUs = packet.atUs - startUs;
      endUs = Math.max(endUs, atUs);
      this.frame = packet.frame;
      this.expireTimeWaits(atUs);
      this.packet(packet, atUs);
    }
    this.expireTimeWaits(endUs);
    return { events: this.events, frameOfEvent: this.frameOfEvent, connections: this.connections, startUs, endUs, cleanNetwork: this.clean, addressOf: this.addressOf };
  }

  private address(text: string): number {
    let n = this.addressNumbers.get(text);
    if (n === undefined) {
      n = text.includes(':') ? this.addressNumbers.size + 1 : parseIpv4(text);
      this.addressNumbers.set(text, n);
      this.addressOf.set(n, text);
    }
    return n;
  }

  private emit(event: TraceEvent): void {
    this.events.push(event);
    this.frameOfEvent.push(this.frame);
  }

  private setState(side: Side, to: TcpState, atUs: number, cause: string): void {
    if (side.state === to) return;
    const from = side.state;
    side.state = to;
    if (to === 'TIME-WAIT') {
      side.timeWaitSinceUs = atUs;
      this.timeWaits.add(side);
    } else if (from === 'TIME-WAIT') {
      this.timeWaits.delete(side);
    }
    this.emit({ type: 'state', atUs, conn: side.conn, from, to, cause });
  }

  /** The end of every TIME-WAIT whose 2·MSL has run out by `atUs`, at the moment it ran out. */
  private expireTimeWaits(atUs: number): void {
    for (const side of [...this.timeWaits]) {
      const endsUs = side.timeWaitSinceUs + this.timeWaitUs;
      if (endsUs <= atUs) this.setState(side, 'CLOSED', endsUs, '2MSL timeout');
    }
  }

  private packet(packet: CapturedTcp, atUs: number): void {
    const srcIp = this.address(packet.src);
    const dstIp = this.address(packet.dst);
    const forward = `${packet.src}:${packet.srcPort}`;
    const backward = `${packet.dst}:${packet.dstPort}`;
    const key = forward < backward ? `${forward}|${backward}` : `${backward}|${forward}`;
    let tuple = this.tuples.get(key);
    if (tuple === undefined) {
      tuple = { incarnations: [] };
      this.tuples.set(key, tuple);
    }
    const flags = packet.flags;
    const isSyn = (flags & SYN) !== 0 && (flags & ACK) === 0 && (flags & RST) === 0;
    let inc = this.incarnationOf(tuple, packet, srcIp, isSyn);
    if (inc === null) {
      inc = this.newIncarnation(tuple, packet, srcIp, dstIp, isSyn, atUs);
    }
    const fromClient = inc.client.conn.localIp === srcIp && inc.client.conn.localPort === packet.srcPort;
    const sender = fromClient ? inc.client : inc.server;
    const current = tuple.incarnations[tuple.incarnations.length - 1]!;
    let receiver = fromClient ? inc.server : inc.client;
    if (inc !== current && receiver.state === 'CLOSED') {
      // An older incarnation's segment reaches whatever holds the address now: the current incarnation.
      const currentFromClient = current.client.conn.localIp === srcIp && current.client.conn.localPort === packet.srcPort;
      receiver = currentFromClient ? current.server : current.client;
    }
    inc.info.lastFrame = packet.frame;
    if (fromClient) inc.info.fromClient++;
    else inc.info.fromServer++;
    const hasAck = (flags & ACK) !== 0;
    const isRst = (flags & RST) !== 0;

    // What the sender's ACK shows it took from the peer, before the segment itself (RFC 9293 §3.10.7.4).
    if (hasAck && !isRst) {
      // A later ACK that reaches the FIN's sequence number shows the FIN had arrived: it was taken
      // then, whether the ACK is FIN + 1 (right) or not (fin-ack's question). Not evidence: an ACK
      // sooner than an answer can come (sent before the FIN arrived), or one that moves forward to
      // exactly the FIN's sequence number (it may answer the data before the FIN). A capture taken
      // upstream of loss can show a FIN that never arrived; then a right ACK of the data before it
      // looks like a FIN ACKed without +1.
      const fin = sender.finArrived;
      // Half the quickest answer seen: one sample may be slow (a loaded machine, jitter). A bare
      // ACK that acknowledges nothing new answers something, the FIN most likely, so it needs no
      // such wait; data or a FIN (a simultaneous close) may have crossed the FIN on the way.
      const bareAck = packet.payloadLength === 0 && (flags & (SYN | FIN)) === 0;
      if (fin !== null && !sender.tookPeerFin && (bareAck || atUs - fin.atUs >= receiver.answerGapUs / 2)) {
        const finSeq = seqAdd(fin.seg.seq, fin.seg.payload.length);
        const movedToFin = packet.ack === finSeq && sender.rcvNxt !== null && seqGt(packet.ack, sender.rcvNxt);
        if (seqGt(packet.ack, finSeq) || (packet.ack === finSeq && !movedToFin)) this.tookFin(sender, fin.atUs, fin.seg);
      }
      this.senderTook(sender, receiver, packet.ack, atUs);
    }

    // What sending this segment shows about the sender.
    const segLength = packet.payloadLength + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    const retransmission = sender.sndMax !== null && segLength > 0 && !(flags & SYN) && seqLe(seqAdd(packet.seq, segLength), sender.sndMax);
    if (retransmission || (flags & SYN && sender.isn !== null)) this.clean = false;
    if (!isRst) {
      if (flags & SYN) {
        sender.synAtUs = atUs;
        // The peer's SYN answered: how long an answer takes to pass the capture point.
        if (hasAck && receiver.synAtUs >= 0 && receiver.answerGapUs === 0) receiver.answerGapUs = atUs - receiver.synAtUs;
        if (sender.isn === null) {
          sender.isn = packet.seq;
          if (hasAck) {
            // A SYN,ACK: the server's child took the client's SYN (RFC 9293 §3.10.7.2).
            const clientSyn = this.clientSynOf(receiver);
            this.setState(sender, 'SYN-RECEIVED', atUs, 'rcv SYN');
            if (clientSyn !== null) this.emit({ type: 'accepted', atUs, conn: sender.conn, seg: clientSyn });
            sender.rcvNxt = packet.ack;
            sender.inOrderNxt = packet.ack;
          } else {
            this.setState(sender, 'SYN-SENT', atUs, 'connect');
          }
        }
      }
      if (flags & FIN && sender.finSeq === null) {
        sender.finSeq = seqAdd(packet.seq, packet.payloadLength);
        if (sender.state === 'ESTABLISHED' || sender.state === 'SYN-RECEIVED') this.setState(sender, 'FIN-WAIT-1', atUs, 'close');
        else if (sender.state === 'CLOSE-WAIT') this.setState(sender, 'LAST-ACK', atUs, 'close');
      }
    }
    const end = seqAdd(packet.seq, segLength);
    if (!isRst && (sender.sndMax === null || seqGt(end, sender.sndMax))) sender.sndMax = end;

    const seg: Segment = {
      id: this.nextSegId++,
      srcIp,
      srcPort: packet.srcPort,
      dstIp,
      dstPort: packet.dstPort,
      seq: packet.seq,
      ack: hasAck ? packet.ack : 0,
      flags: flags & 0x1f,
      window: packet.window,
      mss: packet.mss,
      wscale: packet.windowScale,
      sackOk: packet.sackPermitted,
      tsVal: packet.tsVal,
      tsEcr: packet.tsEcr,
      payload: packet.payload.length === packet.payloadLength ? packet.payload : padded(packet.payload, packet.payloadLength),
      sentAtUs: atUs,
      incarnation: inc.info.incarnation,
      // A reset from a side with no connection (closed, or never opened) is the host's.
      connId: isRst && sender.state === 'CLOSED' ? -1 : sender.conn.connId,
      retransmission,
      copyOf: -1,
    };
    this.emit({ type: 'segment', atUs, fate: 'sent', seg });
    this.emit({ type: 'segment', atUs, fate: 'delivered', seg });

    if (isRst) {
      if (seg.connId >= 0) this.setState(sender, 'CLOSED', atUs, 'send RST');
      this.receivedRst(receiver, seg, atUs);
      return;
    }
    // The receiver's side of what it can be seen to take at once: the ACK of its SYN or FIN.
    this.receiverGot(receiver, seg, atUs);
  }

  /** The incarnation a segment belongs to, or null when it starts a new one. */
  private incarnationOf(tuple: Tuple, packet: CapturedTcp, srcIp: number, isSyn: boolean): Incarnation | null {
    const list = tuple.incarnations;
    if (list.length === 0) return null;
    const current = list[list.length - 1]!;
    if (isSyn) {
      // A SYN with the ISN of an incarnation still open is that incarnation's (a retransmission,
      // or an old duplicate); once the 4-tuple is closed (or in TIME-WAIT), a SYN opens a new
      // one, whatever its ISN (a stack that reuses ISNs reuses them across incarnations).
      const open = (inc: Incarnation) => [inc.client, inc.server].some((side) => side.state !== 'CLOSED' && side.state !== 'TIME-WAIT');
      for (let i = list.length - 1; i >= 0; i--) {
        const inc = list[i]!;
        if (inc.client.isn === packet.seq && inc.client.conn.localIp === srcIp && inc.client.conn.localPort === packet.srcPort && open(inc)) return inc;
      }
      return null;
    }
    if (packet.flags & RST || list.length === 1) return current;
    // A segment outside the current incarnation's sequence space but inside an older one's is that older one's.
    const fromSide = (inc: Incarnation) => (inc.client.conn.localIp === srcIp && inc.client.conn.localPort === packet.srcPort ? inc.client : inc.server);
    if (fitsSpace(fromSide(current), packet.seq)) return current;
    for (let i = list.length - 2; i >= 0; i--) if (fitsSpace(fromSide(list[i]!), packet.seq)) return list[i]!;
    return current;
  }

  private newIncarnation(tuple: Tuple, packet: CapturedTcp, srcIp: number, dstIp: number, isSyn: boolean, atUs: number): Incarnation {
    const number = tuple.incarnations.length + 1;
    // A new SYN ends the TIME-WAIT of the 4-tuple's earlier incarnation (Linux tcp_timewait_state_process).
    for (const old of tuple.incarnations) {
      for (const side of [old.client, old.server]) if (side.state === 'TIME-WAIT') this.setState(side, 'CLOSED', atUs, 'SYN for a new incarnation');
    }
    const make = (localIp: number, localPort: number, remoteIp: number, remotePort: number, passive: boolean): Side => ({
      conn: { connId: this.nextConnId++, host: this.addressOf.get(localIp)!, localIp, localPort, remoteIp, remotePort, incarnation: number, passive, reuseAddr: false, lingerSec: null },
      state: 'CLOSED',
      isn: null,
      sndMax: null,
      finSeq: null,
      rcvNxt: null,
      pending: [],
      timeWaitSinceUs: 0,
      inOrderNxt: null,
      tookPeerFin: false,
      finArrived: null,
      answerGapUs: 0,
      synAtUs: -1,
    });
    const client = make(srcIp, packet.srcPort, dstIp, packet.dstPort, false);
    const server = make(dstIp, packet.dstPort, srcIp, packet.srcPort, true);
    const info: WireConnection = {
      tuple: `${packet.src}:${packet.srcPort} <-> ${packet.dst}:${packet.dstPort}`,
      incarnation: number,
      client: client.conn,
      server: server.conn,
      firstFrame: packet.frame,
      lastFrame: packet.frame,
      fromClient: 0,
      fromServer: 0,
      midStream: !isSyn,
    };
    const inc: Incarnation = { info, client, server };
    if (!isSyn) {
      // Synchronized before the capture began: both sides ESTABLISHED, sequence spaces from here on.
      this.setState(client, 'ESTABLISHED', atUs, 'before the capture');
      this.setState(server, 'ESTABLISHED', atUs, 'before the capture');
    }
    tuple.incarnations.push(inc);
    this.connections.push(info);
    return inc;
  }

  /** The client's SYN, for the server's `accepted` event: the last one it sent. */
  private clientSynOf(client: Side): Segment | null {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.type === 'segment' && e.fate === 'sent' && e.seg.connId === client.conn.connId && e.seg.flags & SYN) return e.seg;
    }
    return null;
  }

  /**
   * The sender's ACK `ack` covers peer segments: each it had not yet taken is accepted now (at
   * the time it arrived), and a covered FIN moves the sender on (RFC 9293 §3.10.7.4, FIN step).
   */
  private senderTook(sender: Side, peer: Side, ack: number, atUs: number): void {
    if (sender.rcvNxt === null) {
      if (peer.isn === null) {
        sender.rcvNxt = ack; // synchronized before the capture: its first ACK says where it is
        return;
      }
      sender.rcvNxt = seqAdd(peer.isn, 1);
    }
    if (!seqGt(ack, sender.rcvNxt)) return;
    // What the ACK reaches is taken in sequence order (an out-of-order segment waits for the
    // hole to be filled); the rest stays pending.
    let kept = 0;
    const covered: { seg: Segment; atUs: number }[] = [];
    for (const next of sender.pending) {
      if (seqLe(seqAdd(next.seg.seq, wireLength(next.seg)), ack)) covered.push(next);
      else sender.pending[kept++] = next;
    }
    // The quickest answer seen so far bounds how soon an answer can come (answerGapUs).
    let latestUs = -1;
    for (const c of covered) latestUs = Math.max(latestUs, c.atUs);
    if (latestUs >= 0 && atUs - latestUs < peer.answerGapUs) peer.answerGapUs = atUs - latestUs;
    const base = sender.rcvNxt;
    covered.sort((a, b) => seqDiff(a.seg.seq, base) - seqDiff(b.seg.seq, base));
    for (const next of covered) {
      const segEnd = seqAdd(next.seg.seq, wireLength(next.seg));
      // A copy of what was already taken is not accepted again.
      if (!seqGt(segEnd, sender.rcvNxt) || seqGt(next.seg.seq, sender.rcvNxt)) continue;
      this.emit({ type: 'accepted', atUs: next.atUs, conn: sender.conn, seg: next.seg });
      sender.rcvNxt = segEnd;
      if (next.seg.flags & FIN && !sender.tookPeerFin) this.tookFin(sender, next.atUs, next.seg);
    }
    sender.pending.length = kept;
    if (seqGt(ack, sender.rcvNxt)) sender.rcvNxt = ack;
  }

  private tookFin(side: Side, atUs: number, fin: Segment): void {
    side.tookPeerFin = true;
    switch (side.state) {
      case 'ESTABLISHED':
      case 'SYN-RECEIVED':
        this.setState(side, 'CLOSE-WAIT', atUs, 'rcv FIN');
        return;
      case 'FIN-WAIT-1':
        // The FIN that also acknowledges ours ends the close at once (three-segment close).
        if (side.finSeq !== null && fin.flags & ACK && seqGe(fin.ack, seqAdd(side.finSeq, 1))) this.setState(side, 'TIME-WAIT', atUs, 'rcv FIN');
        else this.setState(side, 'CLOSING', atUs, 'rcv FIN');
        return;
      case 'FIN-WAIT-2':
        this.setState(side, 'TIME-WAIT', atUs, 'rcv FIN');
        return;
      default:
        return;
    }
  }

  /** What the receiver takes on arrival: the ACK of its SYN or FIN, and data or FIN to acknowledge later. */
  private receiverGot(receiver: Side, seg: Segment, atUs: number): void {
    const flags = seg.flags;
    if (receiver.state === 'TIME-WAIT') {
      // Linux restarts TIME-WAIT on a retransmitted FIN (tcp_timewait_state_process); other segments leave it.
      if (flags & FIN) {
        receiver.timeWaitSinceUs = atUs;
        this.emit({ type: 'time-wait-restart', atUs, conn: receiver.conn, cause: 'rcv FIN' });
      }
      return;
    }
    if (flags & ACK) {
      if (receiver.state === 'SYN-SENT' && flags & SYN && receiver.isn !== null && seg.ack === seqAdd(receiver.isn, 1)) {
        this.emit({ type: 'accepted', atUs, conn: receiver.conn, seg });
        receiver.rcvNxt = seqAdd(seg.seq, 1);
        this.setState(receiver, 'ESTABLISHED', atUs, 'rcv SYN,ACK');
      } else if (receiver.state === 'SYN-RECEIVED' && !(flags & SYN) && receiver.isn !== null && seqGe(seg.ack, seqAdd(receiver.isn, 1))) {
        if (receiver.synAtUs >= 0 && receiver.answerGapUs === 0) receiver.answerGapUs = atUs - receiver.synAtUs;
        this.setState(receiver, 'ESTABLISHED', atUs, 'rcv ACK of SYN');
      }
      if (receiver.finSeq !== null && seqGe(seg.ack, seqAdd(receiver.finSeq, 1))) {
        if (receiver.state === 'FIN-WAIT-1' && !(flags & FIN)) this.setState(receiver, 'FIN-WAIT-2', atUs, 'rcv ACK of FIN');
        else if (receiver.state === 'CLOSING') this.setState(receiver, 'TIME-WAIT', atUs, 'rcv ACK of FIN');
        else if (receiver.state === 'LAST-ACK') this.setState(receiver, 'CLOSED', atUs, 'rcv ACK of FIN');
      }
    }
    if (receiver.state === 'CLOSED' || receiver.state === 'SYN-SENT') return;
    if (flags & SYN) receiver.inOrderNxt ??= seqAdd(seg.seq, 1);
    if (seg.payload.length > 0 || flags & FIN) receiver.pending.push({ seg, atUs, frame: this.frame });
    // The capture is taken to show what arrived: a FIN that comes in order is taken on arrival
    // (RFC 9293 §3.10.7.4), whether or not the ACK that follows is right (that is fin-ack's question).
    const start = seg.seq;
    const end = seqAdd(start, seg.payload.length + (flags & FIN ? 1 : 0));
    const expected = receiver.inOrderNxt ?? start;
    if (seqLe(start, expected) && seqGt(end, expected)) {
      receiver.inOrderNxt = end;
      if (flags & FIN && !receiver.tookPeerFin && receiver.finArrived === null && seg.incarnation === receiver.conn.incarnation) receiver.finArrived = { seg, atUs };
    } else if (receiver.inOrderNxt === null) {
      receiver.inOrderNxt = expected;
    }
  }

  /** A reset that the receiver takes (RFC 9293 §3.10.7: in SYN-SENT if it acks the SYN; elsewhere if in window) closes it. */
  private receivedRst(receiver: Side, seg: Segment, atUs: number): void {
    if (receiver.state === 'CLOSED') return;
    if (receiver.state === 'SYN-SENT') {
      if (seg.flags & ACK && receiver.isn !== null && seg.ack === seqAdd(receiver.isn, 1)) this.setState(receiver, 'CLOSED', atUs, 'rcv RST');
      return;
    }
    if (receiver.state === 'TIME-WAIT') {
      // Ended (tcp_rfc1337 = 0) or ignored (1): the wire cannot tell, so TIME-WAIT is taken as over.
      this.setState(receiver, 'CLOSED', atUs, 'rcv RST in TIME-WAIT');
      return;
    }
    const rcvNxt = receiver.rcvNxt;
    if (rcvNxt === null || seqDiff(seg.seq, rcvNxt) >= 0) this.setState(receiver, 'CLOSED', atUs, 'rcv RST');
  }
}

/** True when `seq` lies in what `side` has sent so far (its ISN to SND.MAX), mod 2^32. */
function fitsSpace(side: Side, seq: number): boolean {
  if (side.isn === null || side.sndMax === null) return side.isn === null;
  return seqGe(seq, side.isn) && seqLe(seq, side.sndMax);
}

/** Sequence space a data or FIN segment takes. */
function wireLength(seg: Segment): number {
  return seg.payload.length + (seg.flags & FIN ? 1 : 0);
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  return out;
}
