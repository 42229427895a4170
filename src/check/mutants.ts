/**
 * The mutant zoo: deliberately broken endpoints, one or more per monitor, to prove each check
 * can fail. Each is the reference TCB with one rule broken, plugged in through the same
 * `Endpoint` seam a user's own implementation would use.
 */
import type { StackConfig } from '../tcp/config.js';
import { linuxBindConflicts, type Endpoint } from '../tcp/endpoint.js';
import { ACK, FIN, RST, type Segment } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import { Tcb, type TcbEnv, type TcbIdentity, type TcbOptions } from '../tcp/tcb.js';
import type { CloseOrder } from '../scenario/spec.js';

export interface Mutant {
  readonly endpoint: Endpoint;
  /** The monitor that must catch it. */
  readonly caughtBy: string;
  /** The runs that can expose it. */
  readonly closeOrders: readonly CloseOrder[];
  readonly faults: boolean;
  readonly maxIncarnations?: number;
  readonly oldDuplicates?: boolean;
}

type TcbClass = new (id: TcbIdentity, config: StackConfig, env: TcbEnv, options: TcbOptions) => Tcb;

function endpoint(name: string, description: string, make: TcbClass, configure: (config: StackConfig) => StackConfig = (c) => c): Endpoint {
  return {
    name,
    description,
    createConnection: (id, config, env, options) => new make(id, configure(config), env, options),
    bindConflicts: linuxBindConflicts,
  };
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
    endpoint: endpoint('accept-out-of-window', 'the receive test accepts out-of-window segments', AcceptsOutOfWindow),
    caughtBy: 'no-stale-segment',
    closeOrders: ALL_ORDERS,
    faults: true,
    maxIncarnations: 3,
    oldDuplicates: true,
  },
  { endpoint: endpoint('abort-sends-fin', 'close with SO_LINGER{on,0} sends FIN', AbortSendsFin), caughtBy: 'abort', closeOrders: ['abort-client', 'abort-server'], faults: false },
  { endpoint: endpoint('fin-never-retransmitted', 'a lost FIN is never sent again', FinNeverRetransmitted), caughtBy: 'termination', closeOrders: ALL_ORDERS, faults: true },
  { endpoint: endpoint('delivers-out-of-order', 'out-of-order data reaches the application at once', DeliversOutOfOrder), caughtBy: 'stream', closeOrders: ALL_ORDERS, faults: true },
  { endpoint: endpoint('passive-time-wait', 'the passive closer enters TIME-WAIT', PassiveTimeWait), caughtBy: 'legal-transitions', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('acks-beyond', 'pure ACKs acknowledge one byte more than received', AcksBeyond), caughtBy: 'seq-space', closeOrders: ALL_ORDERS, faults: false },
  { endpoint: endpoint('acks-fin-at-once', 'the ACK of a FIN is never delayed', AcksFinAtOnce), caughtBy: 'close-shape', closeOrders: ['client-first', 'server-first'], faults: false },
  { endpoint: endpoint('stuck-in-last-ack', 'LAST-ACK never reaches CLOSED', StuckInLastAck), caughtBy: 'termination', closeOrders: ALL_ORDERS, faults: false },
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
];
