/**
 * The timers (tcb-timers.ts) on one TCB driven by hand, no simulator: each timer fired at the
 * time the TCB armed it, with the exact segments it sends and when it gives up (RFC 6298,
 * RFC 9293 §3.8, Linux tcp_retransmit_timer, tcp_write_timeout, reqsk_timer_handler,
 * tcp_probe_timer), and the time limits of tcp_write_timeout as pure functions.
 */
import { describe, expect, it } from 'vitest';
import { stackConfig, type StackConfig } from './config.js';
import { ACK, FIN, NO_OPTIONS, RST, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { Tcb, TimerKind, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';
import { modelTimeoutUs, synExpired } from './tcb-timers.js';

const OUR_ISN = 100;
const PEER_ISN = 7000;

/** A TCB (local 1:80, peer 2:1000) whose segments, states and armed timers are recorded. */
function driven(overrides: Partial<StackConfig> = {}) {
  const sent: string[] = [];
  const states: string[] = [];
  const armed = new Map<TimerKind, number>();
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) => sent.push(`${atUs} [${tcpdumpFlags(f.flags)}] ${f.seq}:${f.ack}${f.payload.length > 0 ? ` (${f.payload.length})` : ''}${f.retransmission ? ' retransmission' : ''}`),
    // The world's timer handles as the TCB sees them (isArmed reads `pending`), so that a timer
    // already armed is not armed again where the TCB asks.
    setTimer: (tcb, kind, at) => {
      armed.set(kind, at);
      tcb.timerHandles[kind] = { pending: true };
    },
    clearTimer: (tcb, kind) => {
      armed.delete(kind);
      tcb.timerHandles[kind] = { pending: false };
    },
    stateChanged: (_tcb, from, to, cause) => states.push(`${from}>${to} ${cause}`),
  });
  let atUs = 0;
  const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig({ timestamps: 0, ...overrides }), env, { reuseAddr: false, lingerSec: null });
  const at = (us: number) => (atUs = us);
  /** Fire `kind` at the time it is armed for; false when it is not armed. */
  const fire = (kind: TimerKind): boolean => {
    const due = armed.get(kind);
    if (due === undefined) return false;
    armed.delete(kind);
    tcb.timerHandles[kind] = { pending: false };
    atUs = due;
    tcb.onTimer(due, kind);
    return true;
  };
  const srttUs = () => (tcb as unknown as { srttUs: number }).srttUs;
  return { tcb, sent, states, armed, at, fire, srttUs };
}

/** A segment from the peer, `len` bytes of payload, window `window`; SACK-permitted on a SYN when `sackOk`, SACK blocks when given. */
function seg(seq: number, ack: number, flags: number, len = 0, window = 65535, sackOk = false, sackBlocks: readonly number[] = []): Segment {
  return {
    id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq, ack, flags, window, ...NO_OPTIONS, sackOk, sackBlocks,
    payload: new Uint8Array(len), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1,
  };
}

/** An active opener ESTABLISHED at 10 ms (SYN at 0, SYN,ACK at 10 ms: SRTT 10 ms); SACK on both sides when `sack`. */
function established(overrides: Partial<StackConfig> = {}, peerWindow = 65535, sack = false) {
  const d = driven(sack ? { sack: true, ...overrides } : overrides);
  d.tcb.connect(0, OUR_ISN);
  d.at(10_000);
  d.tcb.input(10_000, seg(PEER_ISN, OUR_ISN + 1, SYN | ACK, 0, peerWindow, sack));
  d.sent.length = 0;
  return d;
}

describe("tcp_write_timeout's limits (Linux tcp_model_timeout, retransmits_timed_out)", () => {
  it('modelTimeoutUs: doubling up to rto_max, then rto_max apart: tcp_syn_retries 6 is 127 s, tcp_retries2 15 from 200 ms is 924.6 s', () => {
    expect(modelTimeoutUs(6, 1_000_000, 120_000_000)).toBe(127_000_000);
    expect(modelTimeoutUs(15, 200_000, 120_000_000)).toBe(924_600_000);
    expect(modelTimeoutUs(8, 1_000_000, 60_000_000)).toBe(63_000_000 + 3 * 60_000_000);
  });

  it('synExpired: the count is tcp_syn_retries + tcp_syn_linear_timeouts in SYN-SENT, tcp_syn_retries alone in SYN-RECEIVED; the time limit needs one retransmission first', () => {
    const config = stackConfig({ synRetries: 6, synLinearTimeouts: 4 });
    expect(synExpired(config, 'SYN-SENT', 10, 0)).toBe(true);
    expect(synExpired(config, 'SYN-SENT', 9, 0)).toBe(false);
    expect(synExpired(config, 'SYN-RECEIVED', 6, 0)).toBe(true);
    expect(synExpired(config, 'SYN-RECEIVED', 5, 0)).toBe(false);
    expect(synExpired(config, 'SYN-SENT', 0, 200_000_000)).toBe(false);
    expect(synExpired(config, 'SYN-SENT', 1, 127_000_000)).toBe(true);
    expect(synExpired(config, 'SYN-SENT', 1, 126_999_999)).toBe(false);
  });
});

describe('the SYN timer (Linux tcp_retransmit_timer, tcp_write_timeout)', () => {
  it('C1: counts from the first SYN, not from time 0: connect() at 100 s gives up 131 s later', () => {
    const { tcb, fire, states } = driven();
    tcb.connect(100_000_000, OUR_ISN);
    let fired = 0;
    while (fire(TimerKind.Retransmit)) fired++;
    // Ten retransmissions (tcp_syn_retries 6 + tcp_syn_linear_timeouts 4), then the eleventh timeout gives up.
    expect(fired).toBe(11);
    expect(states.at(-1)).toBe('SYN-SENT>CLOSED retransmission limit');
    expect(tcb.error).toBe('ETIMEDOUT');
  });

  it('C3: an active opener in SYN-RECEIVED (simultaneous open) resends its SYN,ACK with the RTO doubling, and gives up after tcp_syn_retries with ETIMEDOUT', () => {
    const { tcb, fire, sent, states } = driven({ synRetries: 3 });
    tcb.connect(0, OUR_ISN);
    tcb.input(0, seg(PEER_ISN, 0, SYN));
    while (fire(TimerKind.Retransmit));
    expect(sent).toEqual([
      '0 [S] 100:0',
      '0 [S.] 100:7001',
      '1000000 [S.] 100:7001 retransmission',
      '3000000 [S.] 100:7001 retransmission',
      '7000000 [S.] 100:7001 retransmission',
    ]);
    expect(states.at(-1)).toBe('SYN-RECEIVED>CLOSED retransmission limit');
    expect(tcb.error).toBe('ETIMEDOUT');
  });

  it('C2: a half-open child resends its SYN,ACK tcp_synack_retries times, doubling, then is dropped silently back to LISTEN', () => {
    const { tcb, fire, sent, states } = driven({ synAckRetries: 2 });
    tcb.acceptSyn(0, seg(PEER_ISN, 0, SYN), OUR_ISN);
    while (fire(TimerKind.Retransmit));
    expect(sent).toEqual(['0 [S.] 100:7001', '1000000 [S.] 100:7001 retransmission', '3000000 [S.] 100:7001 retransmission']);
    expect(states.at(-1)).toBe('SYN-RECEIVED>LISTEN SYN,ACK retries exhausted');
    expect(tcb.error).toBe(null);
  });
});

describe('the retransmission timer with data (RFC 6298 §5, RFC 9293 §3.8.3)', () => {
  it('does nothing with nothing in flight', () => {
    const { tcb, sent } = established();
    tcb.onTimer(2_000_000, TimerKind.Retransmit);
    expect(sent).toEqual([]);
    expect(tcb.retransmissions).toBe(0);
  });

  it("Karn's algorithm: the ACK of a retransmitted segment gives no RTT sample", () => {
    const { tcb, fire, at, srttUs } = established();
    at(20_000);
    tcb.send(20_000, new Uint8Array(100));
    const before = srttUs();
    expect(fire(TimerKind.Retransmit)).toBe(true);
    tcb.input(1_500_000, seg(PEER_ISN + 1, OUR_ISN + 101, ACK));
    expect(srttUs()).toBe(before);
  });

  it('R2: after tcp_retries2 retransmissions the connection fails with ETIMEDOUT', () => {
    const { tcb, fire, sent, states } = established({ dataRetries: 3 });
    tcb.send(10_000, new Uint8Array(100));
    while (fire(TimerKind.Retransmit));
    expect(sent.map((s) => s.replace(/^\d+ /, ''))).toEqual(['[P.] 101:7001 (100)', ...Array(3).fill('[P.] 101:7001 (100) retransmission')]);
    expect(states.at(-1)).toBe('ESTABLISHED>CLOSED retransmission limit');
    expect(tcb.error).toBe('ETIMEDOUT');
  });
});

describe('the other timers', () => {
  it('C7: the delayed-ACK timer sends nothing when no ACK is pending', () => {
    const { tcb, sent } = established();
    tcb.onTimer(50_000, TimerKind.DelayedAck);
    expect(sent).toEqual([]);
  });

  it('C5: the FIN-WAIT-2 timer closes only a connection still in FIN-WAIT-2', () => {
    const { tcb, states } = established();
    tcb.onTimer(50_000, TimerKind.FinWait2);
    expect(tcb.state).toBe('ESTABLISHED');
    expect(states.at(-1)).toBe('SYN-SENT>ESTABLISHED rcv SYN,ACK');
  });

  it('RFC 9293 §3.8.6.1: a zero window is probed with SND.UNA - 1 (a fresh ACK, Linux tcp_xmit_probe_skb); an open window, or nothing to send, is not', () => {
    const zero = established({}, 0);
    zero.tcb.send(20_000, new Uint8Array(100));
    expect(zero.sent).toEqual([]);
    expect(zero.fire(TimerKind.Persist)).toBe(true);
    expect(zero.sent.map((s) => s.replace(/^\d+ /, ''))).toEqual(['[.] 100:7001']);

    const open = established();
    open.tcb.onTimer(20_000, TimerKind.Persist);
    const idle = established({}, 0);
    idle.tcb.onTimer(20_000, TimerKind.Persist);
    expect([open.sent, idle.sent]).toEqual([[], []]);
  });

  it('RFC 9293 §3.8.6.1: a window open but too small for what is queued is no zero window: no probe', () => {
    const small = established({}, 50);
    small.tcb.send(20_000, new Uint8Array(100));
    small.sent.length = 0;
    small.tcb.onTimer(30_000, TimerKind.Persist);
    expect(small.sent).toEqual([]);
  });

  it('a connection reset while its data waits for a zero window probes no more', () => {
    const { tcb, sent } = established({}, 0);
    tcb.send(20_000, new Uint8Array(100));
    tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, RST));
    expect(tcb.state).toBe('CLOSED');
    tcb.onTimer(40_000, TimerKind.Persist);
    expect(sent).toEqual([]);
  });

  it('C8: the 2·MSL timer closes TIME-WAIT; a FIN,ACK exchange gets there', () => {
    const { tcb, fire, states } = established();
    tcb.close(20_000);
    tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 2, FIN | ACK));
    expect(tcb.state).toBe('TIME-WAIT');
    expect(fire(TimerKind.TimeWait)).toBe(true);
    expect(states.at(-1)).toBe('TIME-WAIT>CLOSED 2MSL timeout');
  });
});

describe('the tail-loss probe (RFC 8985 §7, Linux tcp_schedule_loss_probe, tcp_send_loss_probe)', () => {
  /** A SACK connection (SRTT 10 ms, so RTO 210 ms) with `bytes` sent at 20 ms; the retransmit timer's due times as it fires three times. */
  function probed(bytes: number, overrides: Partial<StackConfig> = {}, sack = true, peerWindow = 65535) {
    const d = established(overrides, peerWindow, sack);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(bytes));
    const due: (number | undefined)[] = [d.armed.get(TimerKind.Retransmit)];
    for (let i = 0; i < 2; i++) {
      d.fire(TimerKind.Retransmit);
      due.push(d.armed.get(TimerKind.Retransmit));
    }
    return { ...d, due };
  }

  it('one segment in flight: the probe timeout, 2·SRTT + tcp_rto_min, is capped by the RTO; the probe resends the segment, and the RTO after it is not backed off', () => {
    const { due, sent } = probed(100);
    expect(due).toEqual([230_000, 440_000, 860_000]);
    expect(sent).toEqual(['20000 [P.] 101:7001 (100)', '230000 [P.] 101:7001 (100) retransmission', '440000 [P.] 101:7001 (100) retransmission']);
  });

  it('without SACK, or with tcp_early_retrans below 3, no probe: the first timeout is an RTO and backs off; 4 probes as 3 does', () => {
    expect(probed(100, {}, false).due).toEqual([230_000, 650_000, 1_490_000]);
    expect(probed(100, { earlyRetrans: 2 }).due).toEqual([230_000, 650_000, 1_490_000]);
    expect(probed(100, { earlyRetrans: 4 }).due).toEqual([230_000, 440_000, 860_000]);
  });

  it('several segments in flight: 2·SRTT + 2 ms (TCP_TIMEOUT_MIN); with nothing new the window lets go, the probe is the newest segment again', () => {
    const wide = probed(3000);
    expect(wide.due).toEqual([42_000, 252_000, 672_000]);
    expect(wide.sent.slice(6)).toEqual(['42000 [P.] 2781:7001 (320) retransmission', '252000 [P.] 101:7001 (536) retransmission']);
    const narrow = probed(3000, {}, true, 1000);
    expect(narrow.sent).toEqual(['20000 [P.] 101:7001 (536)', '20000 [P.] 637:7001 (464)', '42000 [P.] 637:7001 (464) retransmission', '252000 [P.] 101:7001 (536) retransmission']);
  });

  it('at most one probe out (tcp_send_loss_probe, tlp_high_seq): new data after a probe arms another, which only re-arms the RTO it would have replaced', () => {
    const d = established({}, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(100));
    d.fire(TimerKind.Retransmit); // the probe at 230 ms; the RTO then at 230 + 210 ms
    d.at(240_000);
    d.tcb.send(240_000, new Uint8Array(100));
    // Two segments out: 2·SRTT + 2 ms, within the 200 ms the RTO has left.
    const probeDue = d.armed.get(TimerKind.Retransmit);
    d.fire(TimerKind.Retransmit);
    const afterSecondProbe = d.armed.get(TimerKind.Retransmit);
    const sentBeforeRto = d.sent.length;
    // The RTO resends from SND.UNA, both small segments in one (Linux tcp_retrans_try_collapse).
    d.fire(TimerKind.Retransmit);
    expect([probeDue, afterSecondProbe, sentBeforeRto]).toEqual([262_000, 440_000, 3]);
    expect(d.sent).toEqual(['20000 [P.] 101:7001 (100)', '230000 [P.] 101:7001 (100) retransmission', '240000 [P.] 201:7001 (100)', '440000 [P.] 101:7001 (200) retransmission']);
  });

  it('RFC 6298 §5.3 without a probe (tcp_early_retrans 2): an ACK of new data with more in flight restarts the RTO from now', () => {
    const d = established({ earlyRetrans: 2 }, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(3000));
    d.at(30_000);
    d.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 537, ACK));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(30_000 + 210_000);
  });

  it('no probe while recovering from an RTO (TCP_CA_Loss): a partial ACK after it re-arms the RTO and resends the next segment', () => {
    const d = probed(3000);
    // The probe at 42 ms, the RTO at 252 ms resent 101:637; its ACK comes at 260 ms, with 2,464 bytes still out.
    d.at(260_000);
    d.tcb.input(260_000, seg(PEER_ISN + 1, OUR_ISN + 537, ACK));
    expect(d.sent.slice(-1)).toEqual(['260000 [P.] 637:7001 (536) retransmission']);
    expect(d.armed.get(TimerKind.Retransmit)).toBe(260_000 + 210_000);
  });

  it('an SRTT of 0 is a sample: several segments out, the probe is due 2 ms (TCP_TIMEOUT_MIN) after they leave', () => {
    const d = driven({ sack: true });
    d.tcb.connect(0, OUR_ISN);
    d.tcb.input(0, seg(PEER_ISN, OUR_ISN + 1, SYN | ACK, 0, 65535, true));
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(3000));
    expect([d.srttUs(), d.armed.get(TimerKind.Retransmit)]).toEqual([0, 22_000]);
  });

  it('a SACK block beyond SND.NXT is no evidence of disorder (tcp_is_sackblock_valid): the probe stays armed', () => {
    const d = established({}, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(3000));
    d.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [OUR_ISN + 3101, OUR_ISN + 3200]));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(42_000);
  });

  it('disorder lasts until SND.UNA passes the highest SACKed byte, whichever block of an ACK names it; then probes come back', () => {
    const d = established({}, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(4000));
    // Segments start at 101, 637, 1173, 1709, 2245, 2781, 3317, 3853. Blocks newest first: [2245, 2781),
    // then the older, lower [1173, 1709). The highest SACKed byte is 2781.
    d.at(30_000);
    d.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [2245, 2781, 1173, 1709]));
    // A cumulative ACK past the lower block but short of the higher: still disorder, so the RTO. Its RTT
    // sample (20 ms) makes SRTT 11.25 ms and the RTO 211.25 ms.
    d.at(40_000);
    d.tcb.input(40_000, seg(PEER_ISN + 1, 1709, ACK));
    const inDisorder = d.armed.get(TimerKind.Retransmit);
    // Past the highest SACKed byte, three segments still out: Open again, a probe at 2·SRTT + 2 ms.
    d.at(50_000);
    d.tcb.input(50_000, seg(PEER_ISN + 1, 2781, ACK));
    expect([inDisorder, d.armed.get(TimerKind.Retransmit)]).toEqual([251_250, 74_500]);
  });

  it('a later ACK\'s higher block raises the highest SACKed byte: an ACK up to the earlier one leaves the sender in disorder', () => {
    const d = established({}, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(4000));
    d.at(30_000);
    d.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [2245, 2781]));
    d.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [2245, 3317]));
    d.at(50_000);
    d.tcb.input(50_000, seg(PEER_ISN + 1, 2781, ACK));
    // Still SACKed above SND.UNA (up to 3317): the RTO, 50 ms + 212.5 ms (the ACK's 30 ms sample makes SRTT 12.5 ms).
    expect(d.armed.get(TimerKind.Retransmit)).toBe(50_000 + 212_500);
  });

  it('with no RTT sample (the SYN,ACK was resent, so Karn gives none) the probe waits tcp_timeout_init, 1 s, within the RTO left', () => {
    const d = driven({ sack: true });
    d.tcb.acceptSyn(0, seg(PEER_ISN, 0, SYN, 0, 65535, true), OUR_ISN);
    d.fire(TimerKind.Retransmit); // the SYN,ACK again at 1 s; the RTO is now 2 s
    d.at(1_500_000);
    d.tcb.input(1_500_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK));
    d.tcb.send(1_500_000, new Uint8Array(100));
    expect([d.srttUs(), d.armed.get(TimerKind.Retransmit)]).toEqual([-1, 2_500_000]);
  });

  it("Karn's algorithm for the probe: the ACK of a probe that resent the newest segment gives no RTT sample", () => {
    const d = established({}, 65535, true);
    d.at(20_000);
    d.tcb.send(20_000, new Uint8Array(100));
    d.fire(TimerKind.Retransmit); // the probe at 230 ms resends 101:201
    d.at(240_000);
    d.tcb.input(240_000, seg(PEER_ISN + 1, OUR_ISN + 101, ACK));
    // SRTT stays the handshake's 10 ms (a sample from the first send would be 220 ms).
    expect([d.sent.length, d.srttUs()]).toEqual([2, 10_000]);
  });

  it('a SACK block above SND.UNA is disorder (TCP_CA_Disorder): the probe gives way to the RTO; a block at or below SND.UNA is not', () => {
    const sacked = established({}, 65535, true);
    sacked.at(20_000);
    sacked.tcb.send(20_000, new Uint8Array(3000));
    sacked.at(30_000);
    sacked.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [OUR_ISN + 537, OUR_ISN + 1073]));
    expect(sacked.armed.get(TimerKind.Retransmit)).toBe(230_000);
    const dsack = established({}, 65535, true);
    dsack.at(20_000);
    dsack.tcb.send(20_000, new Uint8Array(3000));
    dsack.tcb.input(30_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK, 0, 65535, false, [OUR_ISN - 100, OUR_ISN + 1]));
    expect(dsack.armed.get(TimerKind.Retransmit)).toBe(42_000);
  });
});
