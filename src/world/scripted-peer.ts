/**
 * The scripted-peer seam: a remote host with no TCP of its own, attached to a world's fabric,
 * that sends exactly the segments a script tells it to, at the virtual times it says, and sees
 * every segment the hosts under test send to it. packetdrill's runner (src/packetdrill) is one
 * user; a test that wants to poke a TCP with hand-made segments is another.
 *
 * Its segments go through the fabric like any host's, so the trace, the monitors, the pcap and
 * the ladder all show them. They carry connection id -1 (no connection sent them: monitors that
 * follow a connection's own segments skip them) and the incarnation of their 4-tuple, so
 * incarnation checks (C10) still see which connection a segment belongs to.
 */
import type { DatagramReceiver } from '../net/fabric.js';
import { SYN, ACK, type Segment } from '../tcp/segment.js';
import type { World } from './world.js';

/** What a script says about a segment it injects; the peer fills in the rest. */
export interface PeerSegment {
  /** The peer's port. */
  readonly srcPort: number;
  /** Address of the host under test. */
  readonly dstIp: number;
  readonly dstPort: number;
  readonly seq: number;
  /** Meaningful only with ACK in `flags`. */
  readonly ack: number;
  /** Bitwise OR of FIN, SYN, RST, PSH, ACK (src/tcp/segment.ts). */
  readonly flags: number;
  readonly window: number;
  /** MSS option, SYN segments only; 0 or absent for none. */
  readonly mss?: number;
  /** Window scale option (SYN only); -1 or absent for none. */
  readonly wscale?: number;
  readonly sackOk?: boolean;
  /** SACK option (RFC 2018 §3): absolute [left, right) pairs, flat; absent for none. */
  readonly sackBlocks?: readonly number[];
  /** Timestamps option: TSval (-1 or absent for none) and TSecr. */
  readonly tsVal?: number;
  readonly tsEcr?: number;
  readonly payload?: Uint8Array;
}

/** A segment the peer received, with the time it arrived. */
export interface ObservedSegment {
  readonly seg: Segment;
  readonly atUs: number;
}

export type SegmentObserver = (seg: Segment, atUs: number) => void;

const EMPTY = new Uint8Array(0);

export class ScriptedPeer implements DatagramReceiver<Segment> {
  /** Every segment delivered to the peer, in order of arrival. */
  readonly received: ObservedSegment[] = [];
  private readonly observers: SegmentObserver[] = [];
  /** Incarnation of each 4-tuple as the peer last saw it (peer port << 16 | host port, per host address). */
  private readonly incarnations = new Map<number, Map<number, number>>();

  constructor(
    private readonly world: World,
    readonly name: string,
    readonly ip: number,
  ) {}

  /** Call `observer` for every segment delivered to the peer, as it arrives. */
  onSegment(observer: SegmentObserver): void {
    this.observers.push(observer);
  }

  /** Send a segment now. Returns the segment handed to the fabric. */
  send(fields: PeerSegment): Segment {
    const world = this.world;
    const seg: Segment = {
      id: world.nextSegmentId(),
      srcIp: this.ip,
      srcPort: fields.srcPort,
      dstIp: fields.dstIp,
      dstPort: fields.dstPort,
      seq: fields.seq >>> 0,
      ack: fields.flags & ACK ? fields.ack >>> 0 : 0,
      flags: fields.flags,
      window: fields.window,
      mss: fields.mss ?? 0,
      wscale: fields.wscale ?? -1,
      sackOk: fields.sackOk ?? false,
      ...(fields.sackBlocks !== undefined && fields.sackBlocks.length > 0 ? { sackBlocks: fields.sackBlocks } : {}),
      tsVal: fields.tsVal ?? -1,
      tsEcr: fields.tsEcr ?? 0,
      payload: fields.payload ?? EMPTY,
      sentAtUs: 0,
      incarnation: this.incarnationFor(fields),
      connId: -1,
      retransmission: false,
      copyOf: -1,
    };
    world.sendSegment(seg);
    return seg;
  }

  /** Send a segment at virtual time `atUs` (after everything already scheduled for that instant). */
  sendAt(atUs: number, fields: PeerSegment): void {
    this.world.at(atUs, () => this.send(fields));
  }

  receive(seg: Segment, nowUs: number): void {
    this.byHost(seg.srcIp).set(portsKey(seg.dstPort, seg.srcPort), seg.incarnation);
    this.received.push({ seg, atUs: nowUs });
    for (let i = 0; i < this.observers.length; i++) this.observers[i]!(seg, nowUs);
  }

  /**
   * A SYN without ACK opens a new incarnation of its 4-tuple (numbered by the world, as a
   * host's connect would be); anything else belongs to the one the peer last saw or opened.
   */
  private incarnationFor(fields: PeerSegment): number {
    const byHost = this.byHost(fields.dstIp);
    const key = portsKey(fields.srcPort, fields.dstPort);
    if (fields.flags & SYN && !(fields.flags & ACK)) {
      const incarnation = this.world.newIncarnation(this.ip, fields.srcPort, fields.dstIp, fields.dstPort);
      byHost.set(key, incarnation);
      return incarnation;
    }
    return byHost.get(key) ?? 0;
  }

  private byHost(ip: number): Map<number, number> {
    let byHost = this.incarnations.get(ip);
    if (byHost === undefined) {
      byHost = new Map();
      this.incarnations.set(ip, byHost);
    }
    return byHost;
  }
}

function portsKey(peerPort: number, hostPort: number): number {
  return (peerPort << 16) | hostPort;
}
