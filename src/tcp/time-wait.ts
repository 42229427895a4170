/**
 * TIME-WAIT (RFC 9293 §3.10.7.4, as Linux's tcp_timewait_state_process does it).
 *
 * The rules for a segment that finds a connection in TIME-WAIT are `timeWaitEffect` below,
 * shared by the full TCB and by `TimeWaitConnection`, the small record that stands in for a
 * TCB once its application has closed the socket: the way Linux swaps a socket for an
 * inet_timewait_sock (tcp_time_wait). A connection in TIME-WAIT with no socket needs only its
 * 4-tuple, RCV.NXT and SND.NXT, the window it advertises and its timer; the buffers, the RTT
 * estimator and the reassembly queue of a full TCB are dead weight for 2·MSL. At 10^5
 * connections in TIME-WAIT that is the difference between about 1.4 KiB and 0.6 KiB each.
 *
 * Only the reference TCB class swaps itself (`Tcb.compactForTimeWait`): a subclass (a mutant, a
 * user's variant) may change how TIME-WAIT behaves, so it keeps its full TCB.
 */
import type { StackConfig } from './config.js';
import type { Connection, TimeWaitReuse } from './endpoint.js';
import { ACK, EMPTY_PAYLOAD, FIN, RST, SYN, segLen, type Segment } from './segment.js';
import { seqGt } from './seq.js';
import type { TcpState } from './state.js';
import { TimerKind, TIMER_COUNT, type Errno, type TcbEnv, type TcbIdentity, type TcbOptions } from './tcb.js';
import { NO_SACK_BLOCKS } from './tcb-base.js';

/**
 * What TIME-WAIT does with a segment (Linux tcp_timewait_state_process), as data both TIME-WAIT
 * implementations — the full TCB and the small record — apply the same way. With timestamps in
 * use TIME-WAIT keeps TS.Recent, and a segment whose TSval is older fails PAWS (`paws_reject`,
 * Linux tcp_paws_reject: RFC 7323 §5 with no tolerance; a RST passes once TS.Recent is 60 s old).
 * - a SYN (no ACK, no RST) that passes PAWS and lies above RCV.NXT, or whose TSval is newer than
 *   TS.Recent: a new incarnation may take the 4-tuple (`newSyn`; Linux TCP_TW_SYN);
 * - a RST at RCV.NXT that passes PAWS: accepted, and it ends TIME-WAIT — unless RFC 1337
 *   protection is on, when it only restarts 2·MSL (TIME-WAIT assassination; tcp_rfc1337 = 0);
 * - a bare ACK at RCV.NXT that passes PAWS: accepted; the 2·MSL timer restarts, nothing is
 *   sent; TS.Recent takes its TSval;
 * - any other RST: dropped;
 * - anything else — above all a retransmitted FIN, because our last ACK was lost (C9), or a
 *   segment PAWS rejects — is answered with an ACK, never a RST, and restarts 2·MSL when it
 *   carries ACK or failed PAWS. It lies below RCV.NXT, so it is answered, not accepted
 *   (§3.10.7.4 first check).
 */
export interface TimeWaitEffect {
  readonly newSyn: boolean;
  readonly accept: boolean;
  /** The cause to close with, or null. */
  readonly closeCause: string | null;
  /** The cause to restart 2·MSL with, or null. */
  readonly restartCause: string | null;
  /** Send a (rate-limited) ACK. */
  readonly answer: boolean;
  /** TS.Recent takes the segment's TSval (when it has one). */
  readonly takeTsVal: boolean;
}

const effect = (newSyn: boolean, accept: boolean, closeCause: string | null, restartCause: string | null, answer: boolean, takeTsVal = false): TimeWaitEffect =>
  Object.freeze({ newSyn, accept, closeCause, restartCause, answer, takeTsVal });

const NEW_SYN = effect(true, false, null, null, false);
const ASSASSINATED = effect(false, true, 'rcv RST in TIME-WAIT', null, false);
const RST_PROTECTED = effect(false, false, null, 'rcv RST (tcp_rfc1337)', false, true);
const IGNORED = effect(false, false, null, null, false);
const BARE_ACK = effect(false, true, null, 'rcv ACK', false, true);
const ANSWER_FIN = effect(false, false, null, 'rcv FIN', true);
const ANSWER_SEGMENT = effect(false, false, null, 'rcv segment', true);
const ANSWER_PAWS = effect(false, false, null, 'rcv old timestamp (PAWS)', true);
const ANSWER_ONLY = effect(false, false, null, null, true);

/** Linux TCP_PAWS_MSL: a RST passes PAWS once TS.Recent is this old. */
const PAWS_MSL_US = 60_000_000;
/** Linux TCP_PAWS_24DAYS (RFC 7323 §5.5). */
const PAWS_IDLE_US = 24 * 24 * 3600 * 1_000_000;

/**
 * `tsRecentStampUs` is -1 when the connection used no timestamps; then TSvals are not looked at,
 * as Linux parses a TIME-WAIT segment's options only when tw_ts_recent_stamp is set.
 */
export function timeWaitEffect(seg: Segment, rcvNxt: number, rfc1337: boolean, tsRecent: number, tsRecentStampUs: number, nowUs: number): TimeWaitEffect {
  const flags = seg.flags;
  const sawTs = tsRecentStampUs >= 0 && seg.tsVal >= 0;
  let pawsReject = false;
  if (sawTs && ((tsRecent - seg.tsVal) | 0) > 0 && nowUs - tsRecentStampUs < PAWS_IDLE_US) {
    pawsReject = !(flags & RST && nowUs - tsRecentStampUs >= PAWS_MSL_US);
  }
  if (!pawsReject && seg.seq === rcvNxt && (segLen(seg) === 0 || flags & RST)) {
    if (flags & RST) return rfc1337 ? RST_PROTECTED : ASSASSINATED;
    return BARE_ACK;
  }
  if ((flags & (SYN | RST | ACK)) === SYN && !pawsReject && (seqGt(seg.seq, rcvNxt) || (sawTs && ((tsRecent - seg.tsVal) | 0) < 0))) return NEW_SYN;
  if (flags & RST) return IGNORED;
  if (pawsReject) return ANSWER_PAWS;
  if (!(flags & ACK)) return ANSWER_ONLY;
  return flags & FIN ? ANSWER_FIN : ANSWER_SEGMENT;
}

/** What a TCB hands over when it is swapped for a `TimeWaitConnection`. */
export interface TimeWaitHandover {
  readonly id: TcbIdentity;
  readonly config: StackConfig;
  readonly env: TcbEnv;
  readonly options: TcbOptions;
  readonly passive: boolean;
  readonly incarnation: number;
  readonly retransmissions: number;
  readonly sndNxt: number;
  readonly rcvNxt: number;
  /** The window field its ACKs carry (scaled): fixed from now on, as nothing reads or fills the receive buffer. */
  readonly window: number;
  /** Timestamps in use (RFC 7323): its ACKs carry them, and TIME-WAIT keeps TS.Recent (Linux tw_ts_recent). */
  readonly tsOk: boolean;
  readonly tsRecent: number;
  readonly tsRecentStampUs: number;
  readonly tsOffset: number;
  /** When it last sent a rate-limited ACK (Linux tcp_invalid_ratelimit). */
  readonly lastOutOfWindowAckUs: number;
  /** When it entered TIME-WAIT (Linux tw_entry_stamp, for tcp_tw_reuse_delay). */
  readonly timeWaitEnteredUs: number;
}

const EMPTY = EMPTY_PAYLOAD;

/**
 * A connection in TIME-WAIT whose socket is closed, kept small: it answers segments and its
 * timer exactly as the TCB it replaces would have (the swap is invisible in the trace).
 *
 * Small in objects as much as in bytes, since 10^5 of them pass through the garbage
 * collector's young generation: the record is its own identity and options (no separate
 * objects), and keeps sequence numbers as signed 32-bit integers, which V8 stores inline,
 * where a number above 2^31 in a field is a boxed number of its own.
 */
export class TimeWaitConnection implements Connection, TcbIdentity, TcbOptions {
  state: TcpState = 'TIME-WAIT';
  connId!: number;
  localIp!: number;
  localPort!: number;
  remoteIp!: number;
  remotePort!: number;
  reuseAddr!: boolean;
  lingerSec!: number | null;
  passive!: boolean;
  incarnation!: number;
  readonly timerHandles: unknown[] = [null, null, null, null, null];
  hostEntry: unknown = null;
  /** The socket was closed before the swap. */
  orphaned = true;
  error: Errno | null = null;
  retransmissions!: number;
  /** SND.NXT and RCV.NXT, `| 0`: read them through `sndNxt` and `rcvNxt`. */
  private sndNxtInt32!: number;
  private rcvNxtInt32!: number;
  private window!: number;
  /** TS.Recent when timestamps are in use (`| 0`, as the sequence numbers), its stamp, or -1 when they are not. */
  private tsRecentInt32!: number;
  private tsRecentStampUs!: number;
  private tsOffsetInt32!: number;
  private enteredUs!: number;
  /** When it last sent a rate-limited ACK, or null if never (rather than -Infinity, a boxed number). */
  private lastOutOfWindowAckUs!: number | null;
  private config!: StackConfig;
  private env!: TcbEnv;

  constructor(handover: TimeWaitHandover) {
    this.takeOver(handover);
  }

  /**
   * Become the record of `handover`'s connection: what the constructor does, and what the host
   * does with a record whose TIME-WAIT ended, rather than make a new one (Host.spareRecords).
   * A record lives for 2·MSL, long enough to be promoted out of V8's young generation, so at
   * 10^5 connections a new one per connection was most of what each scavenge copied.
   */
  takeOver(handover: TimeWaitHandover): void {
    this.state = 'TIME-WAIT';
    this.hostEntry = null;
    this.orphaned = true;
    this.error = null;
    const id = handover.id;
    this.connId = id.connId;
    this.localIp = id.localIp;
    this.localPort = id.localPort;
    this.remoteIp = id.remoteIp;
    this.remotePort = id.remotePort;
    this.reuseAddr = handover.options.reuseAddr;
    this.lingerSec = handover.options.lingerSec;
    this.config = handover.config;
    this.env = handover.env;
    this.passive = handover.passive;
    this.incarnation = handover.incarnation;
    this.retransmissions = handover.retransmissions;
    this.sndNxtInt32 = handover.sndNxt | 0;
    this.rcvNxtInt32 = handover.rcvNxt | 0;
    this.window = handover.window;
    this.tsRecentInt32 = handover.tsRecent | 0;
    this.tsRecentStampUs = handover.tsOk ? handover.tsRecentStampUs : -1;
    this.tsOffsetInt32 = handover.tsOffset | 0;
    this.enteredUs = handover.timeWaitEnteredUs;
    this.lastOutOfWindowAckUs = handover.lastOutOfWindowAckUs === -Infinity ? null : handover.lastOutOfWindowAckUs;
  }

  get id(): TcbIdentity {
    return this;
  }

  get options(): TcbOptions {
    return this;
  }

  get sndNxt(): number {
    return this.sndNxtInt32 >>> 0;
  }

  private get rcvNxt(): number {
    return this.rcvNxtInt32 >>> 0;
  }

  timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    // The rules are timeWaitEffect's, shared with Tcb.timeWaitInput.
    const effect = timeWaitEffect(seg, this.rcvNxt, this.config.rfc1337, this.tsRecentInt32 >>> 0, this.tsRecentStampUs, nowUs);
    if (effect.newSyn) return 'new-syn';
    if (effect.takeTsVal && this.tsRecentStampUs >= 0 && seg.tsVal >= 0) {
      this.tsRecentInt32 = seg.tsVal | 0;
      this.tsRecentStampUs = nowUs;
    }
    if (effect.accept) this.env.segmentAccepted(this, seg);
    if (effect.closeCause !== null) this.becomeClosed(effect.closeCause);
    if (effect.restartCause !== null) this.restartTimeWait(nowUs, effect.restartCause);
    if (effect.answer) this.answer(nowUs, seg);
    return 'handled';
  }

  timeWaitReuse(): TimeWaitReuse | null {
    if (this.state !== 'TIME-WAIT' || this.tsRecentStampUs < 0) return null;
    return { sndNxt: this.sndNxt, tsRecent: this.tsRecentInt32 >>> 0, tsRecentStampUs: this.tsRecentStampUs, enteredUs: this.enteredUs };
  }

  onTimer(_nowUs: number, kind: TimerKind): void {
    // RFC 9293 §3.10.8 (C8). No other timer is armed: the TCB released them all on entering TIME-WAIT.
    if (kind === TimerKind.TimeWait) this.becomeClosed('2MSL timeout');
  }

  setState(next: TcpState, cause: string): void {
    const previous = this.state;
    if (previous === next) return;
    this.state = next;
    this.env.stateChanged(this, previous, next, cause);
  }

  // The socket calls of a connection whose socket is closed: what Tcb answers in TIME-WAIT and CLOSED.

  connect(): void {
    throw new Error(`TIME-WAIT record ${this.id.connId} cannot connect`);
  }

  acceptSyn(): void {
    throw new Error(`TIME-WAIT record ${this.id.connId} cannot accept a SYN`);
  }

  send(): number | Errno {
    return 'EPIPE';
  }

  recv(): Uint8Array | 'eof' | Errno {
    return 'eof';
  }

  shutdownWrite(): void {}

  close(): void {}

  abort(_nowUs: number, cause: string): void {
    this.becomeClosed(cause);
  }

  input(): void {
    if (this.state === 'TIME-WAIT') throw new Error('TIME-WAIT input goes through timeWaitInput');
  }

  /** Tcb.sendOutOfWindowAck for a segment TIME-WAIT answers: rate-limited unless it carries data or a FIN. */
  private answer(nowUs: number, seg: Segment): void {
    if (segLen(seg) === 0 || (seg.flags & SYN) !== 0) {
      const lastUs = this.lastOutOfWindowAckUs;
      if (lastUs !== null && nowUs - lastUs < this.config.invalidRateLimitUs) return;
      this.lastOutOfWindowAckUs = nowUs;
    }
    // Linux tcp_v4_timewait_ack: with timestamps, TSval from the clock and TSecr = tw_ts_recent.
    const ts = this.tsRecentStampUs >= 0;
    const tsVal = ts ? (Math.floor(nowUs / 1000) + this.tsOffsetInt32) >>> 0 : -1;
    const tsEcr = ts ? this.tsRecentInt32 >>> 0 : 0;
    this.env.transmit(this, { seq: this.sndNxt, ack: this.rcvNxt, flags: ACK, window: this.window, mss: 0, wscale: -1, sackOk: false, sackBlocks: NO_SACK_BLOCKS, tsVal, tsEcr, payload: EMPTY, retransmission: false });
  }

  private restartTimeWait(nowUs: number, cause: string): void {
    this.env.setTimer(this, TimerKind.TimeWait, nowUs + this.config.timeWaitUs);
    this.env.timeWaitRestarted(this, cause);
  }

  private becomeClosed(cause: string): void {
    for (let kind = 0; kind < TIMER_COUNT; kind++) this.env.clearTimer(this, kind as TimerKind);
    this.setState('CLOSED', cause);
    this.env.wake(this);
  }
}
