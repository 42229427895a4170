/**
 * For the tests that drive one TCB (or one TIME-WAIT record) by hand, with no host and no world.
 * Not part of the build (tsconfig.build.json) nor of the mutation runs.
 */
import { stackConfig, type StackConfig } from './config.js';
import { REFERENCE_ENDPOINT, type Endpoint } from './endpoint.js';
import { ACK, NO_OPTIONS, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, TimerKind, type SegmentFields, type TcbEnv, type TcbOptions } from './tcb.js';

/**
 * An environment that does nothing (no timers, every accept-queue offer taken, TSval offset 0,
 * every TIME-WAIT admitted), with the parts a test watches or changes given.
 */
export function quietTcbEnv(parts: Partial<TcbEnv> = {}): TcbEnv {
  return {
    transmit: () => {},
    setTimer: () => {},
    clearTimer: () => {},
    stateChanged: () => {},
    timeWaitRestarted: () => {},
    segmentAccepted: () => {},
    wake: () => {},
    offerToListener: () => true,
    timestampOffset: () => 0,
    admitTimeWait: () => true,
    ...parts,
  };
}

/** One segment a driven TCB sent, sequence numbers relative to each side's ISN. */
export interface DrivenSegment {
  readonly atUs: number;
  readonly flags: number;
  readonly seq: number;
  /** Relative to the peer's ISN; 0 when the segment has no ACK. */
  readonly ack: number;
  readonly window: number;
  readonly len: number;
  readonly retransmission: boolean;
  /** The timestamps option's TSecr; -1 when the segment carries none. */
  readonly tsEcr: number;
  /** SACK block edges, relative to the peer's ISN. */
  readonly sack: readonly number[];
}

export interface DrivenTcbSpec {
  readonly config?: Partial<StackConfig>;
  readonly options?: Partial<TcbOptions>;
  readonly ourIsn?: number;
  readonly peerIsn?: number;
}

/**
 * One TCB (local 1:80, peer 2:1000) driven by hand with an environment that records what it
 * does: each segment it sends as a tcpdump-like line (`[F.] seq 1 ack 2 len 5`, relative to the
 * two ISNs; `win` only where a test asks), its state changes, the timers it arms (handles kept
 * in `timerHandles`, as the host keeps them, so `isArmed` sees them), wakes and accepted segments.
 * Timestamps are off unless the config turns them on.
 */
export function drivenTcb(spec: DrivenTcbSpec = {}) {
  const ourIsn = spec.ourIsn ?? 100;
  const peerIsn = spec.peerIsn ?? 7000;
  const segments: DrivenSegment[] = [];
  const states: string[] = [];
  const armed = new Map<TimerKind, number>();
  const accepted: Segment[] = [];
  let wakes = 0;
  let nowUs = 0;
  let tcb: Tcb;
  const handle = (kind: TimerKind) => {
    let h = tcb.timerHandles[kind] as { pending: boolean } | null;
    if (h === null) tcb.timerHandles[kind] = h = { pending: false };
    return h;
  };
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) =>
      void segments.push({ atUs: nowUs, flags: f.flags, seq: (f.seq - ourIsn) >>> 0, ack: f.flags & ACK ? (f.ack - peerIsn) >>> 0 : 0, window: f.window, len: f.payload.length, retransmission: f.retransmission, tsEcr: f.tsVal >= 0 ? f.tsEcr : -1, sack: f.sackBlocks.map((edge) => (edge - peerIsn) >>> 0) }),
    setTimer: (_tcb, kind, at) => {
      handle(kind).pending = true;
      armed.set(kind, at);
    },
    clearTimer: (_tcb, kind) => {
      handle(kind).pending = false;
      armed.delete(kind);
    },
    stateChanged: (_tcb, from, to, cause) => void states.push(`${from}>${to} ${cause}`),
    segmentAccepted: (_tcb, seg) => void accepted.push(seg),
    wake: () => void wakes++,
  });
  tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig({ timestamps: 0, ...spec.config }), env, { reuseAddr: false, lingerSec: null, ...spec.options });
  /** A segment from the peer: `seq` and `ack` relative to the peer's and our ISN. */
  const peer = (seq: number, ack: number, flags: number, len = 0, extra: Partial<Segment> = {}): Segment => ({
    id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq: seqAdd(peerIsn, seq), ack: seqAdd(ourIsn, ack), flags, window: 65535, ...NO_OPTIONS,
    mss: flags & SYN ? 1460 : 0, payload: Uint8Array.from({ length: len }, (_, i) => (seq + i) & 255), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1, ...extra,
  });
  const format = (s: DrivenSegment, win: boolean) =>
    `[${tcpdumpFlags(s.flags)}] seq ${s.seq}${s.flags & ACK ? ` ack ${s.ack}` : ''}${win ? ` win ${s.window}` : ''}${s.len > 0 ? ` len ${s.len}` : ''}${s.retransmission ? ' (rtx)' : ''}`;
  return {
    get tcb() {
      return tcb;
    },
    segments,
    states,
    armed,
    accepted,
    get wakes() {
      return wakes;
    },
    peer,
    /** The sent segments as lines; with `since`, only those from that index on. */
    wire: (since = 0, win = false) => segments.slice(since).map((s) => format(s, win)),
    /** Hand `seg` to the TCB at `atUs`. */
    input: (atUs: number, seg: Segment) => {
      nowUs = atUs;
      tcb.input(atUs, seg);
    },
    /** Run `act` at `atUs` (a socket call), so what it sends is stamped with that time. */
    at: <T>(atUs: number, act: (tcb: Tcb) => T): T => {
      nowUs = atUs;
      return act(tcb);
    },
    /** Fire `kind` at the time it is armed for; false when it is not armed. */
    fire: (kind: TimerKind): boolean => {
      const due = armed.get(kind);
      if (due === undefined) return false;
      armed.delete(kind);
      handle(kind).pending = false;
      nowUs = due;
      tcb.onTimer(due, kind);
      return true;
    },
    /** Passive open: the peer's SYN at 0, its ACK at `ackUs`; ESTABLISHED, and the record cleared. */
    openPassive(ackUs = 1000, syn: Partial<Segment> = {}, ack: Partial<Segment> = {}) {
      nowUs = 0;
      tcb.acceptSyn(0, peer(0, 0, SYN, 0, { ack: 0, ...syn }), ourIsn);
      nowUs = ackUs;
      tcb.input(ackUs, peer(1, 1, ACK, 0, ack));
      this.clear();
    },
    /** Active open: our SYN at 0, the peer's SYN,ACK at `synAckUs`; ESTABLISHED, and the record cleared. */
    openActive(synAckUs = 10_000, synAck: Partial<Segment> = {}) {
      nowUs = 0;
      tcb.connect(0, ourIsn);
      nowUs = synAckUs;
      tcb.input(synAckUs, peer(0, 1, SYN | ACK, 0, synAck));
      this.clear();
    },
    /** Forget what was recorded so far (the timers stay armed). */
    clear() {
      segments.length = 0;
      states.length = 0;
      accepted.length = 0;
      wakes = 0;
    },
  };
}

/**
 * The reference endpoint with one optional Connection hook taken off its TCBs, as an endpoint
 * written without that hook would have them: for the host's calls that must do without it.
 */
export function endpointWithout(hook: 'adoptReceiveBuffer' | 'timeWaitReuse' | 'inheritTsRecent' | 'shutdownRead'): Endpoint {
  class TcbWithoutHook extends Tcb {
    constructor(...args: ConstructorParameters<typeof Tcb>) {
      super(...args);
      Object.defineProperty(this, hook, { value: undefined });
    }
  }
  return { ...REFERENCE_ENDPOINT, name: `without-${hook}`, createConnection: (id, config, env, options) => new TcbWithoutHook(id, config, env, options) };
}
