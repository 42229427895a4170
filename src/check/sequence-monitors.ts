/** Monitors of sequence numbers: C2–C4 and RFC 9293 §3.4's sequence space. */
import { ACK, FIN, RST, SYN, segLen } from '../tcp/segment.js';
import { seqAdd, seqGt, seqLt } from '../tcp/seq.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, type MonitorInterest } from './monitor.js';

/**
 * `syn-ack` (C2–C4): a SYN occupies one sequence number, so until the peer's first data or FIN
 * is accepted, every ACK a connection sends acknowledges exactly the peer's ISN + 1.
 */
export class SynAckMonitor extends BaseMonitor {
  readonly name = 'syn-ack';
  readonly claims = ['C2', 'C3', 'C4'];
  readonly description = 'the ACK of a SYN is ISN+1 (the peer\'s SYN as the endpoint reports accepting it)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['accepted', 'segment-sent'];
  /** connId -> the peer's ISN, once its SYN was accepted. */
  private readonly peerIsn = new Map<number, number>();
  /** Connections that accepted data or a FIN (their ACKs move past ISN+1). */
  private readonly pastHandshake = new Set<number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.peerIsn.delete(conn.connId);
    this.pastHandshake.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type === 'accepted') {
      const seg = event.seg;
      if (seg.flags & SYN && !(seg.flags & RST)) this.peerIsn.set(event.conn.connId, seg.seq);
      if (seg.payload.length > 0 || seg.flags & FIN) this.pastHandshake.add(event.conn.connId);
      return;
    }
    if (event.type !== 'segment' || event.fate !== 'sent') return;
    const seg = event.seg;
    if (!(seg.flags & ACK) || seg.flags & RST || seg.connId < 0 || this.pastHandshake.has(seg.connId)) return;
    const isn = this.peerIsn.get(seg.connId);
    if (isn === undefined) return;
    const expected = seqAdd(isn, 1);
    if (seg.ack !== expected) {
      this.report(event.atUs, index, this.book.byId.get(seg.connId) ?? null, `ACK of SYN is ${seg.ack}, expected ISN+1 = ${expected} (peer ISN ${isn})`);
    }
  }
}

/**
 * `fin-ack` (C4): a FIN occupies one sequence number, so once a connection has taken the peer's
 * FIN (it is in CLOSE-WAIT, CLOSING, LAST-ACK or TIME-WAIT), its ACKs are the FIN's seq + 1.
 */
export class FinAckMonitor extends BaseMonitor {
  readonly name = 'fin-ack';
  readonly claims = ['C4'];
  readonly description = 'the ACK that covers a FIN is the FIN\'s seq+1 (once the state changes say the FIN was taken)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent'];
  /** Sending connId -> sequence number its FIN occupies. */
  private readonly finSeqOf = new Map<number, number>();
  /** connId -> true once it has taken the peer's FIN. */
  private readonly tookFin = new Set<number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.finSeqOf.delete(conn.connId);
    this.tookFin.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type === 'state') {
      const { from, to } = event;
      const tookFin = to === 'CLOSE-WAIT' || to === 'CLOSING' || (to === 'TIME-WAIT' && from !== 'CLOSING');
      if (tookFin) this.tookFin.add(event.conn.connId);
      return;
    }
    if (event.type !== 'segment' || event.fate !== 'sent') return;
    const seg = event.seg;
    if (seg.connId < 0) return;
    if (seg.flags & FIN) this.finSeqOf.set(seg.connId, seqAdd(seg.seq, seg.payload.length));
    if (!(seg.flags & ACK) || seg.flags & RST || !this.tookFin.has(seg.connId)) return;
    const conn = this.book.byId.get(seg.connId);
    const peer = conn && this.book.peerOf(conn);
    const finSeq = peer && this.finSeqOf.get(peer.connId);
    if (finSeq === undefined) return;
    const expected = seqAdd(finSeq, 1);
    if (seg.ack !== expected) this.report(event.atUs, index, conn ?? null, `ACK after the peer's FIN is ${seg.ack}, expected FIN seq + 1 = ${expected}`);
  }
}

/**
 * `seq-space` (RFC 9293 §3.3.1, modulo 2^32): a sender never skips sequence space (each new
 * segment starts at or below what it sent before: SND.UNA ≤ SND.NXT), and nothing acknowledges
 * what the peer has not sent.
 */
export class SeqSpaceMonitor extends BaseMonitor {
  readonly name = 'seq-space';
  readonly claims = ['RFC 9293 §3.3.1'];
  readonly description = 'SND.UNA ≤ SND.NXT; nothing acknowledges unsent data; all modulo 2^32';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment-sent'];
  /** connId -> one past the highest sequence number it has sent. */
  private readonly sentEnd = new Map<number, number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.sentEnd.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type !== 'segment' || event.fate !== 'sent') return;
    const seg = event.seg;
    // A reset's sequence number is taken from the segment it answers (RFC 9293 §3.5.2), not from our space.
    if (seg.connId < 0 || seg.flags & RST) return;
    const conn = this.book.byId.get(seg.connId) ?? null;
    const end = seqAdd(seg.seq, segLen(seg));
    const previousEnd = this.sentEnd.get(seg.connId);
    if (seg.flags & SYN) {
      if (previousEnd !== undefined && seg.seq !== seqAdd(previousEnd, -1)) {
        this.report(event.atUs, index, conn, `SYN retransmitted with seq ${seg.seq}, first SYN had ${seqAdd(previousEnd, -1)}`);
        return;
      }
    } else if (previousEnd !== undefined && segLen(seg) > 0 && seqGt(seg.seq, previousEnd)) {
      this.report(event.atUs, index, conn, `segment starts at ${seg.seq}, beyond SND.NXT ${previousEnd}: sequence space skipped`);
      return;
    }
    if (previousEnd === undefined || seqGt(end, previousEnd)) this.sentEnd.set(seg.connId, end);
    if (!(seg.flags & ACK) || conn === null) return;
    const peer = this.book.peerOf(conn);
    const peerEnd = peer && this.sentEnd.get(peer.connId);
    if (peerEnd !== undefined && seqGt(seg.ack, peerEnd)) {
      this.report(event.atUs, index, conn, `ACK ${seg.ack} acknowledges beyond what the peer sent (${peerEnd})`);
    } else if (peerEnd !== undefined && seqLt(seg.ack, seqAdd(peerEnd, -0x7fff_ffff))) {
      this.report(event.atUs, index, conn, `ACK ${seg.ack} is more than 2^31 behind the peer's ${peerEnd}`);
    }
  }
}
