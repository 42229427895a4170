/**
 * The mutant zoo: deliberately broken endpoints, one or more per monitor, to prove each check
 * can fail. Each is the reference TCB with one rule broken, plugged in through the same
 * `Endpoint` seam a user's own implementation would use.
 */
import type { StackConfig } from '../tcp/config.js';
import { linuxBindConflicts, type Endpoint } from '../tcp/endpoint.js';
import { ACK, FIN, RST, SYN, segLen, type Segment } from '../tcp/segment.js';
import { seqAdd, seqDiff } from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import { Tcb, type SegmentFields, type TcbEnv, type TcbIdentity, type TcbOptions } from '../tcp/tcb.js';
import type { CloseOrder, IsnKind } from '../scenario/spec.js';

export interface Mutant {
  readonly endpoint: Endpoint;
  /** The monitor that must catch it. */
  readonly caughtBy: string;
  /** Other monitors whose promise it breaks, which must catch it too (properties/mutants.test.ts). */
  readonly alsoCaughtBy?: readonly string[];
  /** The runs that can expose it. */
  readonly closeOrders: readonly CloseOrder[];
  readonly faults: boolean;
  readonly maxIncarnations?: number;
  readonly oldDuplicates?: boolean;
  /** ISN policies of the runs that expose it (the generator's default when absent). */
  readonly isn?: readonly IsnKind[];
  /** Runs with a second SO_REUSEADDR listener per server. */
  readonly secondListener?: boolean;
  /** Runs that draw Linux's TIME-WAIT knobs (tcp_timestamps, tcp_tw_reuse, tcp_max_tw_buckets, small port ranges, ephemeral reconnects). */
  readonly linuxKnobs?: boolean;
  /** Runs whose connections may carry no data in one direction or both (RunShape.noData). */
  readonly noData?: boolean;
  /** Why no packetdrill script can expose it (src/packetdrill/examples.test.ts then leaves it out). */
  readonly noScript?: string;
  /** Runs with small receive buffers in some of them (windows close, segments are cut by the window). */
  readonly smallBuffers?: boolean;
}

type TcbClass = new (id: TcbIdentity, config: StackConfig, env: TcbEnv, options: TcbOptions) => Tcb;

function endpoint(name: string, description: string, make: TcbClass, configure: (config: StackConfig) => StackConfig = (c) => c, host: Partial<Pick<Endpoint, 'bindConflicts' | 'resetFor' | 'hostConfig' | 'portSearchIgnoresTimeWait' | 'connectIgnoresBoundPort'>> = {}): Endpoint {
  return {
    name,
    description,
    createConnection: (id, config, env, options) => new make(id, configure(config), env, options),
    bindConflicts: linuxBindConflicts,
    ...host,
  };
}

/** RFC 9293 §3.10.7.1, written again here so a host-reset mutant can break one part of it. */
function rfcReset(seg: Segment): { seq: number; ack: number; flags: number } | null {
  if (seg.flags & RST) return null;
  if (seg.flags & ACK) return { seq: seg.ack, ack: 0, flags: RST };
  return { seq: 0, ack: seqAdd(seg.seq, segLen(seg)), flags: RST | ACK };
}

/** C4 broken: the SYN's sequence number is not counted, so its ACK is ISN, not ISN+1. */
class SynAckNoPlusOne extends Tcb {
  protected override readonly synSpace = 0;
}

/** C4 broken: the FIN is not counted, so its ACK is the FIN's seq. */
class FinAckNoPlusOne extends Tcb {
  protected override readonly finSpace = 0;
}

/** C8 broken: the active closer goes straight to CLOSED instead of TIME-WAIT. */
class NoTimeWait extends Tcb {
  protected override enterTimeWait(_nowUs: number, cause: string): void {
    this.becomeClosed(cause);
  }
}

/** C9 broken: TIME-WAIT answers a retransmitted FIN with RST. */
class TimeWaitAnswersRst extends Tcb {
  override timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    if (seg.flags & FIN) {
      this.emit(nowUs, seg.ack, RST, new Uint8Array(0), false);
      return 'handled';
    }
    return super.timeWaitInput(nowUs, seg);
  }
}

/** C10 broken: the sequence-number test of RFC 9293 §3.10.7.4 accepts anything. */
class AcceptsOutOfWindow extends Tcb {
  protected override acceptable(): boolean {
    return true;
  }
}

/** C14 broken: close() ignores SO_LINGER{on,0} and closes gracefully with FIN. */
class AbortSendsFin extends Tcb {
  override close(nowUs: number): void {
    this.options.lingerSec = null;
    super.close(nowUs);
  }
}

/** Reliability broken: a FIN alone is never retransmitted. */
class FinNeverRetransmitted extends Tcb {
  protected override retransmitHead(nowUs: number): void {
    if (this.finSeq >= 0 && this.sndUna === this.finSeq) return;
    super.retransmitHead(nowUs);
  }
}

/** C6 broken: out-of-order text is handed to the application at once, holes and all. */
class DeliversOutOfOrder extends Tcb {
  protected override receiveText(nowUs: number, seg: Segment, window: number): void {
    if (seg.payload.length > 0 && seg.seq !== this.rcvNxt && ((seg.seq - this.rcvNxt) | 0) > 0) {
      this.receiveQueue.push(seg.payload);
      this.env.wake(this);
    }
    super.receiveText(nowUs, seg, window);
  }
}

/** C8/C11 broken: the passive closer enters TIME-WAIT when its FIN is acknowledged. */
class PassiveTimeWait extends Tcb {
  private lastInputUs = 0;
  override input(nowUs: number, seg: Segment): void {
    this.lastInputUs = nowUs;
    super.input(nowUs, seg);
  }
  protected override becomeClosed(cause: string): void {
    if (this.state === 'LAST-ACK' && cause === 'rcv ACK of FIN') {
      this.enterTimeWait(this.lastInputUs, cause);
      return;
    }
    super.becomeClosed(cause);
  }
}

/** Sequence space broken: pure ACKs acknowledge one byte more than received. */
class AcksBeyond extends Tcb {
  protected override sendAck(nowUs: number): void {
    this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    this.emit(nowUs, this.sndNxt, ACK, new Uint8Array(0), false);
    this.rcvNxt = (this.rcvNxt - 1) >>> 0;
  }
}

/** C7 broken: the ACK of a FIN is sent at once, so a prompt passive close takes four segments. */
class AcksFinAtOnce extends Tcb {
  protected override scheduleAck(nowUs: number): void {
    if (this.state === 'CLOSE-WAIT') this.sendAck(nowUs);
    else super.scheduleAck(nowUs);
  }
}

/**
 * C5 broken (this simulator's own old rule): the ACK of a FIN that came before any data waits for
 * the 40 ms delayed-ACK timer, as if data had set Linux's icsk_ack.ato, so a prompt close of a
 * connection that received nothing takes three segments instead of four.
 */
class DelaysAckBeforeData extends Tcb {
  protected override receiveFin(nowUs: number): void {
    this.dataReceived = true;
    super.receiveFin(nowUs);
  }
}

/** Orphans broken: an orphaned FIN-WAIT-2 never times out (tcp_fin_timeout ignored), so a FIN long after is still ACKed. */
class OrphanNeverTimesOut extends Tcb {
  protected override armFinWait2(_nowUs: number): void {}
}

/** Liveness broken: retransmission never gives up and never reaches the peer after a timeout. */
class StuckInLastAck extends Tcb {
  override setState(next: TcpState, cause: string): void {
    if (this.state === 'LAST-ACK' && next === 'CLOSED' && cause === 'rcv ACK of FIN') return;
    super.setState(next, cause);
  }
}

/** C9 broken the quiet way: a retransmitted FIN in TIME-WAIT is ACKed, but 2·MSL is not restarted. */
class TimeWaitNoRestart extends Tcb {
  override timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    if (seg.flags & FIN && !(seg.flags & RST)) {
      this.sendAck(nowUs);
      return 'handled';
    }
    return super.timeWaitInput(nowUs, seg);
  }
}

/** C15 broken: a listener's child does not inherit its SO_LINGER (the child reports none, so only the calls tell). */
class LingerNotInherited extends Tcb {
  override acceptSyn(nowUs: number, seg: Segment, iss: number): void {
    this.options.lingerSec = null;
    super.acceptSyn(nowUs, seg, iss);
  }
}

/** C8 broken the other way: TIME-WAIT lasts 3·MSL. */
const timeWaitTooLong = (c: StackConfig): StackConfig => ({ ...c, timeWaitUs: 3 * c.mslUs });

/** connect() broken: a refused connection is reported as reset (ECONNRESET, not ECONNREFUSED). */
class RefusedAsReset extends Tcb {
  override input(nowUs: number, seg: Segment): void {
    super.input(nowUs, seg);
    if (this.error === 'ECONNREFUSED') this.error = 'ECONNRESET';
  }
}

/** connect() broken: SYN-SENT ignores the RST of a refusal and retries until ETIMEDOUT. */
class IgnoresRefusal extends Tcb {
  override input(nowUs: number, seg: Segment): void {
    if (this.state === 'SYN-SENT' && seg.flags & RST) return;
    super.input(nowUs, seg);
  }
}

/** C4 broken the other way: the SYN counts two, so its ACK is ISN+2. */
class SynAckPlusTwo extends Tcb {
  protected override readonly synSpace = 2;
}

/** C4 broken the other way: the FIN counts two, so its ACK is the FIN's seq + 2. */
class FinAckPlusTwo extends Tcb {
  protected override readonly finSpace = 2;
}

/** C7 broken the other way: the ACK of a FIN waits for our own FIN however long the application takes, so a slow close still takes three segments. */
class FinAckHeldBack extends Tcb {
  protected override scheduleAck(nowUs: number): void {
    if (this.state !== 'CLOSE-WAIT') super.scheduleAck(nowUs);
  }
}

/** C6 broken the other way: a retransmitted segment's bytes, already delivered, are handed to the application again. */
class DeliversDuplicates extends Tcb {
  protected override receiveText(nowUs: number, seg: Segment, window: number): void {
    const len = seg.payload.length;
    if (len > 0 && ((seg.seq - this.rcvNxt) | 0) < 0 && ((seg.seq + len - this.rcvNxt) | 0) <= 0) {
      this.receiveQueue.push(seg.payload);
      this.env.wake(this);
    }
    super.receiveText(nowUs, seg, window);
  }
}

/** C10 broken one way: TIME-WAIT never lets a SYN open a new incarnation; it only ACKs. */
class TimeWaitRefusesSyn extends Tcb {
  override timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    if ((seg.flags & (SYN | ACK | RST)) === SYN) {
      this.sendAck(nowUs);
      return 'handled';
    }
    return super.timeWaitInput(nowUs, seg);
  }
}

/** C10 broken the other way: any SYN opens a new incarnation, even one at or below RCV.NXT. */
class TimeWaitTakesAnySyn extends Tcb {
  override timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    if ((seg.flags & (SYN | ACK | RST)) === SYN) return 'new-syn';
    return super.timeWaitInput(nowUs, seg);
  }
}

/** C9 broken with 2·MSL kept: a retransmitted FIN in TIME-WAIT restarts 2·MSL as it should, but is answered with RST, not ACK. */
class TimeWaitResetsFin extends Tcb {
  protected override sendOutOfWindowAck(nowUs: number, seg: Segment, challenge: boolean): void {
    if (this.state === 'TIME-WAIT' && seg.flags & FIN) this.emit(nowUs, this.sndNxt, RST, new Uint8Array(0), false);
    else super.sendOutOfWindowAck(nowUs, seg, challenge);
  }
}

/** C6 broken by omission: data that arrives with the FIN is acknowledged but never delivered; end-of-file comes early. */
class DropsDataWithFin extends Tcb {
  protected override deliverInOrder(payload: Uint8Array, fin: boolean, nowUs: number): boolean {
    if (!fin || payload.length === 0) return super.deliverInOrder(payload, fin, nowUs);
    this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    return fin;
  }
}

/** C6 broken in content only: a segment that overlaps what was received is trimmed at the wrong end (as many bytes, the wrong ones). */
class TrimsWrongEnd extends Tcb {
  protected override receiveText(nowUs: number, seg: Segment, window: number): void {
    const old = (this.rcvNxt - seg.seq) | 0;
    if (old > 0 && old < seg.payload.length) {
      super.receiveText(nowUs, { ...seg, seq: this.rcvNxt, payload: seg.payload.subarray(0, seg.payload.length - old) }, window);
      return;
    }
    super.receiveText(nowUs, seg, window);
  }
}

/**
 * C6 broken in content alone: a retransmission copies its data from one byte further into the
 * send buffer (an offset that forgets SND.UNA's own byte), so the right number of bytes arrives
 * at the right sequence numbers, but not the right bytes.
 */
class RetransmitsShiftedBytes extends Tcb {
  protected override emit(nowUs: number, seq: number, flags: number, payload: Uint8Array, retransmission: boolean): void {
    const offset = seqDiff(seq, this.sendQueueSeq) + 1;
    if (retransmission && payload.length > 0 && offset + payload.length <= this.sendQueue.length) {
      super.emit(nowUs, seq, flags, this.sendQueue.peek(offset, payload.length), retransmission);
      return;
    }
    super.emit(nowUs, seq, flags, payload, retransmission);
  }
}

/** Sequence space broken: a retransmitted SYN carries ISN+1, as if the SYN had been counted once already. */
class SynRetransmitNewIsn extends Tcb {
  protected override fields(seq: number, flags: number, payload: Uint8Array, retransmission: boolean): SegmentFields {
    return super.fields(flags === SYN && retransmission ? seqAdd(seq, 1) : seq, flags, payload, retransmission);
  }
}

/** C14 broken by excess: after the RST of an SO_LINGER{on,0} close, a FIN still goes out. */
class AbortThenFin extends Tcb {
  override abort(nowUs: number, cause: string): void {
    super.abort(nowUs, cause);
    if (cause === 'close with SO_LINGER{on,0}') this.emit(nowUs, this.sndNxt, FIN | ACK, new Uint8Array(0), false);
  }
}

/** C10 broken in one field: the new incarnation a SYN opens from TIME-WAIT starts at the old SND.NXT + 65538, one past Linux's. */
class TimeWaitIsnOffByOne extends Tcb {
  override acceptSyn(nowUs: number, seg: Segment, iss: number): void {
    super.acceptSyn(nowUs, seg, seqAdd(iss, 1));
  }
}

/** RFC 7323 broken: TIME-WAIT's ACKs carry the host's millisecond clock without the connection's TSval offset, so TSval jumps. */
class TimeWaitTsWithoutOffset extends Tcb {
  protected override addTimestamps(nowUs: number, fields: SegmentFields): void {
    super.addTimestamps(nowUs, fields);
    if (this.state === 'TIME-WAIT' && fields.tsVal >= 0) fields.tsVal = Math.floor(nowUs / 1000) >>> 0;
  }
}

/** RFC 7323 broken the other way: TSecr is TS.Recent + 1, a TSval the peer never sent. */
class TsEcrPlusOne extends Tcb {
  protected override addTimestamps(nowUs: number, fields: SegmentFields): void {
    super.addTimestamps(nowUs, fields);
    if (fields.tsVal >= 0 && fields.flags & ACK) fields.tsEcr = (fields.tsEcr + 1) >>> 0;
  }
}

/** tcp_tw_reuse broken: a TIME-WAIT that used no timestamps is taken over by connect() too (Linux tcp_twsk_unique requires them). */
class ReusesTimeWaitWithoutTimestamps extends Tcb {
  override timeWaitReuse(): ReturnType<Tcb['timeWaitReuse']> {
    if (this.state !== 'TIME-WAIT') return null;
    return super.timeWaitReuse() ?? { sndNxt: this.sndNxt, tsRecent: this.tsRecent, tsRecentStampUs: this.tsRecentStampUs, enteredUs: this.timeWaitEnteredUs };
  }
}

const ALL_ORDERS: readonly CloseOrder[] = ['client-first', 'server-first', 'half-close', 'simultaneous'];

export const MUTANTS: readonly Mutant[] = [
  { endpoint: endpoint('time-wait-1msl', 'TIME-WAIT lasts 1·MSL', Tcb, (c) => ({ ...c, timeWaitUs: c.mslUs })), caughtBy: 'time-wait-2msl', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('time-wait-3msl', 'TIME-WAIT lasts 3·MSL', Tcb, timeWaitTooLong), caughtBy: 'time-wait-2msl', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('time-wait-no-restart', 'a retransmitted FIN in TIME-WAIT is ACKed without restarting 2·MSL', TimeWaitNoRestart), caughtBy: 'time-wait-2msl', closeOrders: ['client-first', 'server-first'], faults: true },
  { endpoint: endpoint('linger-not-inherited', 'an accepted socket does not inherit SO_LINGER from its listener', LingerNotInherited), caughtBy: 'abort', closeOrders: ['abort-server'], faults: false },
  { endpoint: endpoint('syn-ack-no-plus-one', 'ACK of a SYN is its seq, without +1', SynAckNoPlusOne), caughtBy: 'syn-ack', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('fin-ack-no-plus-one', 'ACK of a FIN is its seq, without +1', FinAckNoPlusOne), caughtBy: 'fin-ack', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('no-time-wait', 'the active closer skips TIME-WAIT', NoTimeWait), caughtBy: 'time-wait-side', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('time-wait-rst', 'TIME-WAIT answers a retransmitted FIN with RST', TimeWaitAnswersRst), caughtBy: 'time-wait-2msl', closeOrders: ['client-first', 'server-first'], faults: true },
  {
    // Timestamps off: with them PAWS (RFC 7323 §5) drops the old incarnation's segments before the broken test sees them.
    endpoint: endpoint('accept-out-of-window', 'the receive test accepts out-of-window segments', AcceptsOutOfWindow, (c) => ({ ...c, timestamps: 0 })),
    caughtBy: 'no-stale-segment',
    closeOrders: ALL_ORDERS,
    faults: true,
    maxIncarnations: 3,
    oldDuplicates: true,
  },
  { endpoint: endpoint('abort-sends-fin', 'close with SO_LINGER{on,0} sends FIN', AbortSendsFin), caughtBy: 'abort', closeOrders: ['abort-client', 'abort-server'], faults: false },
  { endpoint: endpoint('fin-never-retransmitted', 'a lost FIN is never sent again', FinNeverRetransmitted), caughtBy: 'termination', closeOrders: ALL_ORDERS, faults: true },
  { endpoint: endpoint('delivers-out-of-order', 'out-of-order data reaches the application at once', DeliversOutOfOrder), caughtBy: 'stream', closeOrders: ALL_ORDERS, faults: true },
  { endpoint: endpoint('passive-time-wait', 'the passive closer enters TIME-WAIT', PassiveTimeWait), caughtBy: 'legal-transitions', alsoCaughtBy: ['time-wait-side'], closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('acks-beyond', 'pure ACKs acknowledge one byte more than received', AcksBeyond), caughtBy: 'seq-space', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('acks-fin-at-once', 'the ACK of a FIN is never delayed', AcksFinAtOnce), caughtBy: 'close-shape', closeOrders: ['client-first', 'server-first'], faults: false },
  { endpoint: endpoint('stuck-in-last-ack', 'LAST-ACK never reaches CLOSED', StuckInLastAck), caughtBy: 'termination', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('syn-ack-plus-two', 'ACK of a SYN is its seq + 2', SynAckPlusTwo), caughtBy: 'syn-ack', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('fin-ack-plus-two', 'ACK of a FIN is its seq + 2', FinAckPlusTwo), caughtBy: 'fin-ack', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('delays-ack-before-data', 'a FIN that came before any data is ACKed after the 40 ms delayed-ACK timeout, not at once', DelaysAckBeforeData), caughtBy: 'close-shape', closeOrders: ['client-first', 'server-first'], faults: false, noData: true },
  { endpoint: endpoint('fin-ack-held-back', 'the ACK of a FIN waits for our FIN, however slow the close', FinAckHeldBack), caughtBy: 'close-shape', closeOrders: ['client-first', 'server-first'], faults: false },
  { endpoint: endpoint('delivers-duplicates', 'bytes already delivered are delivered again when retransmitted', DeliversDuplicates), caughtBy: 'stream', closeOrders: ALL_ORDERS, faults: true },
  {
    endpoint: endpoint('bind-refuses-reuse', 'bind() refuses a port held by TIME-WAIT even with SO_REUSEADDR on both', Tcb, undefined, { bindConflicts: (candidate) => candidate.otherTimeWait || linuxBindConflicts(candidate) }),
    caughtBy: 'bind-in-use',
    closeOrders: ['client-first', 'server-first'],
    faults: false,
    maxIncarnations: 3,
  },
  { endpoint: endpoint('refused-as-reset', 'a refused connect() reports ECONNRESET', RefusedAsReset), caughtBy: 'connect-result', closeOrders: ['refused'], faults: false },
  { endpoint: endpoint('ignores-refusal', 'SYN-SENT ignores the RST of a refusal; connect() times out', IgnoresRefusal), caughtBy: 'connect-result', closeOrders: ['refused'], faults: false },
  { endpoint: endpoint('syn-retries-3', 'connect() gives up after 3 SYN retransmissions, not tcp_syn_retries', Tcb, (c) => ({ ...c, synRetries: 3 })), caughtBy: 'connect-result', closeOrders: ['unreachable'], faults: false },
  {
    endpoint: endpoint('reset-ack-plus-one', 'a host reset acks SEG.SEQ+SEG.LEN+1', Tcb, undefined, {
      resetFor: (seg) => {
        const reset = rfcReset(seg);
        return reset !== null && reset.flags & ACK ? { ...reset, ack: seqAdd(reset.ack, 1) } : reset;
      },
    }),
    caughtBy: 'host-reset',
    closeOrders: ['refused'],
    faults: false,
  },
  { endpoint: endpoint('no-reset-for-syn', 'a SYN to a closed port gets no reset', Tcb, undefined, { resetFor: (seg) => (seg.flags & SYN ? null : rfcReset(seg)) }), caughtBy: 'host-reset', closeOrders: ['refused'], faults: false },
  {
    endpoint: endpoint('orphan-timeout-half', 'an orphaned FIN-WAIT-2 times out after half of tcp_fin_timeout', Tcb, (c) => ({ ...c, finWait2TimeoutUs: c.finWait2TimeoutUs / 2 })),
    caughtBy: 'orphan-fin-wait-2',
    closeOrders: ['late-peer'],
    faults: false,
  },
  { endpoint: endpoint('orphan-never-times-out', 'an orphaned FIN-WAIT-2 waits for the peer\'s FIN for ever', OrphanNeverTimesOut), caughtBy: 'orphan-fin-wait-2', closeOrders: ['silent-peer'], faults: false },
  {
    // Only a bare RST is answered (with RST,ACK), so two such hosts do not answer each other for ever.
    endpoint: endpoint('reset-answers-reset', 'a host answers a RST for a closed port with a RST', Tcb, undefined, {
      resetFor: (seg) => (seg.flags & RST ? (seg.flags & ACK ? null : { seq: 0, ack: seqAdd(seg.seq, 1), flags: RST | ACK }) : rfcReset(seg)),
    }),
    caughtBy: 'host-reset',
    closeOrders: ['abort-client', 'abort-server', 'silent-peer'],
    faults: true,
  },
  { endpoint: endpoint('time-wait-refuses-syn', 'TIME-WAIT never lets a SYN above RCV.NXT open a new incarnation', TimeWaitRefusesSyn), caughtBy: 'time-wait-syn', closeOrders: ['server-first'], faults: false, maxIncarnations: 3 },
  // Timestamps off: with them a new SYN's newer TSval lets Linux open the incarnation whatever its sequence number.
  { endpoint: endpoint('time-wait-takes-any-syn', 'any SYN, even below RCV.NXT, opens a new incarnation from TIME-WAIT', TimeWaitTakesAnySyn, (c) => ({ ...c, timestamps: 0 })), caughtBy: 'time-wait-syn', closeOrders: ['server-first'], faults: false, maxIncarnations: 3, isn: ['fixed'] },
  {
    endpoint: endpoint('double-listen', 'listen() ignores another socket listening on the port', Tcb, undefined, { bindConflicts: (candidate) => !candidate.otherListening && linuxBindConflicts(candidate) }),
    caughtBy: 'listen-conflict',
    closeOrders: ['client-first'],
    faults: false,
    secondListener: true,
  },
  {
    // The other way: EADDRINUSE where Linux allows the listen (both SO_REUSEADDR, the other only bound).
    endpoint: endpoint('listen-ignores-reuseaddr', 'listen() refuses a port another socket has only bound, SO_REUSEADDR on both', Tcb, undefined, { bindConflicts: (candidate) => candidate.atListen || linuxBindConflicts(candidate) }),
    caughtBy: 'listen-conflict',
    closeOrders: ['client-first'],
    faults: false,
    secondListener: true,
  },
  { endpoint: endpoint('ephemeral-ports-low', 'connect() picks ports from 1024-2047, outside ip_local_port_range', Tcb, undefined, { hostConfig: (c) => ({ ...c, ephemeralPortMin: 1024, ephemeralPortMax: 2047 }) }), caughtBy: 'ephemeral-port', closeOrders: ALL_ORDERS, faults: false },
  {
    endpoint: {
      name: 'bind-ignores-time-wait',
      description: 'bind() ignores TIME-WAIT connections on the port',
      createConnection: (id, config, env, options) => new Tcb(id, config, env, options),
      bindConflicts: (candidate) => !candidate.otherTimeWait && linuxBindConflicts(candidate),
    },
    caughtBy: 'bind-in-use',
    closeOrders: ['client-first', 'server-first'],
    faults: false,
    maxIncarnations: 3,
  },
  { endpoint: endpoint('time-wait-rst-restarts', 'TIME-WAIT restarts 2·MSL on a retransmitted FIN but answers it with RST', TimeWaitResetsFin), caughtBy: 'time-wait-2msl', closeOrders: ['client-first', 'server-first'], faults: true },
  { endpoint: endpoint('drops-data-with-fin', 'data that arrives with the FIN is acknowledged but never delivered', DropsDataWithFin), caughtBy: 'stream', closeOrders: ['server-first', 'half-close', 'client-first'], faults: true, smallBuffers: true },
  { endpoint: endpoint('trims-wrong-end', 'a segment overlapping received data is trimmed at its tail, not its head', TrimsWrongEnd), caughtBy: 'stream', closeOrders: ALL_ORDERS, faults: true, smallBuffers: true, noScript: 'only the bytes are wrong, not their number: scripts check what read() returns, not the bytes' },
  { endpoint: endpoint('retransmits-shifted-bytes', 'a retransmission copies its data from one byte further into the send buffer', RetransmitsShiftedBytes), caughtBy: 'stream', closeOrders: ALL_ORDERS, faults: true, smallBuffers: true, noScript: 'only the bytes are wrong, not their number: scripts check what read() returns, not the bytes' },
  { endpoint: endpoint('syn-retransmit-new-isn', 'a retransmitted SYN carries ISN+1', SynRetransmitNewIsn), caughtBy: 'seq-space', closeOrders: ['client-first', 'server-first'], faults: true },
  { endpoint: endpoint('abort-then-fin', 'an SO_LINGER{on,0} close sends a FIN after its RST', AbortThenFin), caughtBy: 'abort', closeOrders: ['abort-client', 'abort-server'], faults: false },
  { endpoint: endpoint('syn-retries-9', 'connect() gives up after 9 SYN retransmissions, not tcp_syn_retries', Tcb, (c) => ({ ...c, synRetries: 9 })), caughtBy: 'connect-result', closeOrders: ['unreachable'], faults: false },
  { endpoint: endpoint('time-wait-isn-plus-one', 'a new incarnation from TIME-WAIT starts at the old SND.NXT + 65538', TimeWaitIsnOffByOne), caughtBy: 'time-wait-syn', closeOrders: ['server-first'], faults: false, maxIncarnations: 3 },
  { endpoint: endpoint('time-wait-ts-no-offset', "TIME-WAIT's ACKs carry TSvals without the connection's offset", TimeWaitTsWithoutOffset), caughtBy: 'timestamps', closeOrders: ['client-first', 'server-first'], faults: true, noScript: 'the packetdrill runner does not carry the timestamps option yet (issue 11)' },
  { endpoint: endpoint('tsecr-plus-one', 'TSecr echoes TS.Recent + 1', TsEcrPlusOne), caughtBy: 'timestamps', closeOrders: ALL_ORDERS, faults: false, noScript: 'the packetdrill runner does not carry the timestamps option yet (issue 11)' },
  {
    endpoint: endpoint('ephemeral-range-one-port', "connect()'s port search tries only the first port of ip_local_port_range", Tcb, undefined, { hostConfig: (c) => ({ ...c, ephemeralPortMax: c.ephemeralPortMin }) }),
    caughtBy: 'connect-result',
    closeOrders: ['client-first'],
    faults: false,
    maxIncarnations: 3,
    linuxKnobs: true,
  },
  { endpoint: endpoint('tw-buckets-one-short', 'TIME-WAIT overflows with one bucket of tcp_max_tw_buckets still free', Tcb, undefined, { hostConfig: (c) => ({ ...c, maxTwBuckets: c.maxTwBuckets - 1 }) }), caughtBy: 'time-wait-side', closeOrders: ['client-first', 'server-first'], faults: false, linuxKnobs: true, noScript: 'the packetdrill runner does not map tcp_max_tw_buckets (src/packetdrill/settings.ts)' },
  {
    // The other way from ephemeral-ports-low: a port of the range, but one whose 4-tuple is held.
    endpoint: endpoint('ephemeral-port-over-time-wait', "connect()'s port search counts a 4-tuple in TIME-WAIT as free and opens a connection over it (Linux __inet_check_established refuses it unless tcp_tw_reuse takes the TIME-WAIT over)", Tcb, undefined, { portSearchIgnoresTimeWait: true }),
    caughtBy: 'ephemeral-port',
    closeOrders: ['client-first'],
    faults: false,
    maxIncarnations: 3,
    linuxKnobs: true,
  },
  {
    // The third way for ephemeral-port: a bound socket's port not used at all.
    endpoint: endpoint('connect-ignores-bound-port', 'connect() on a socket bound to a port sends its SYN from an ephemeral port instead (Linux __inet_hash_connect uses the bound port, inet_num, when there is one)', Tcb, undefined, { connectIgnoresBoundPort: true }),
    caughtBy: 'ephemeral-port',
    closeOrders: ['client-first'],
    faults: false,
    maxIncarnations: 3,
  },
  {
    endpoint: endpoint('tw-reuse-without-timestamps', 'connect() takes over a TIME-WAIT that used no timestamps', ReusesTimeWaitWithoutTimestamps),
    caughtBy: 'time-wait-2msl',
    closeOrders: ['client-first'],
    faults: false,
    maxIncarnations: 3,
    linuxKnobs: true,
    noScript: 'the packetdrill runner does not turn timestamps off or on (issue 11)',
  },
];
