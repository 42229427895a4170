/**
 * The handshake (tcb-handshake.ts) on one TCB driven by hand, no simulator: SYN-SENT input
 * (RFC 9293 §3.10.7.3), simultaneous open, the repeated SYN to a half-open connection (Linux
 * tcp_check_req), the ACK that completes it (§3.10.7.4) and the accept queue's overflow, each
 * with the exact segments sent, and the RTT bookkeeping of the SYN (Karn's algorithm).
 */
import { describe, expect, it } from 'vitest';
import { stackConfig, type StackConfig } from './config.js';
import { ACK, FIN, NO_OPTIONS, PSH, RST, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { Tcb, TimerKind, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';

const OUR_ISN = 100;
const PEER_ISN = 7000;

/** A TCB (local 1:80, peer 2:1000) whose segments, state changes and listener offers are recorded. */
function driven(overrides: Partial<StackConfig> = {}, queueRoom = true) {
  const sent: string[] = [];
  const states: string[] = [];
  let offers = 0;
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) => sent.push(`[${tcpdumpFlags(f.flags)}] ${f.seq}:${f.ack}${f.retransmission ? ' retransmission' : ''}`),
    stateChanged: (_tcb, from, to, cause) => states.push(`${from}>${to} ${cause}`),
    offerToListener: () => {
      offers++;
      return queueRoom;
    },
  });
  const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig(overrides), env, { reuseAddr: false, lingerSec: null });
  /** Karn's algorithm and the RTT estimator are internal: read SRTT for the tests below only. */
  const srttUs = () => (tcb as unknown as { srttUs: number }).srttUs;
  return { tcb, sent, states, offers: () => offers, srttUs };
}

/** A segment from the peer (no options), `len` bytes of payload. */
function seg(seq: number, ack: number, flags: number, len = 0): Segment {
  return {
    id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq, ack, flags, window: 65535, ...NO_OPTIONS,
    payload: new Uint8Array(len), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1,
  };
}

describe('SYN-SENT input (RFC 9293 §3.10.7.3)', () => {
  it('C1: an ACK outside (ISS, SND.NXT] is answered <SEQ=SEG.ACK><CTL=RST>, a fresh segment; with RST it is dropped silently', () => {
    const { tcb, sent } = driven();
    tcb.connect(0, OUR_ISN);
    tcb.input(1000, seg(PEER_ISN, 50, ACK));
    tcb.input(2000, seg(PEER_ISN, 50, RST | ACK));
    expect(sent).toEqual(['[S] 100:0', '[R] 50:0']);
    expect(tcb.state).toBe('SYN-SENT');
  });

  it('C1: an acceptable ACK without SYN or RST does nothing', () => {
    const { tcb, sent } = driven();
    tcb.connect(0, OUR_ISN);
    tcb.input(1000, seg(PEER_ISN, OUR_ISN + 1, ACK));
    expect(sent).toEqual(['[S] 100:0']);
    expect(tcb.state).toBe('SYN-SENT');
  });

  it('C3: simultaneous open: a bare SYN gets <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, not counted as a retransmission, and the RTT runs from the first SYN', () => {
    const { tcb, sent, states, srttUs } = driven();
    // connect() at time 0: a start time of 0 is a start time.
    tcb.connect(0, OUR_ISN);
    tcb.input(40_000, seg(PEER_ISN, 0, SYN));
    tcb.input(90_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK));
    expect(sent).toEqual(['[S] 100:0', '[S.] 100:7001']);
    expect(states).toEqual(['CLOSED>SYN-SENT connect', 'SYN-SENT>SYN-RECEIVED rcv SYN (simultaneous open)', 'SYN-RECEIVED>ESTABLISHED rcv ACK of SYN']);
    expect(tcb.retransmissions).toBe(0);
    expect(srttUs()).toBe(90_000);
  });
});

describe('a half-open connection (SYN-RECEIVED, Linux tcp_check_req)', () => {
  /** A listener's child that answered the peer's SYN at time 0. */
  function halfOpen(overrides: Partial<StackConfig> = {}, queueRoom = true) {
    const d = driven(overrides, queueRoom);
    d.tcb.acceptSyn(0, seg(PEER_ISN, 0, SYN), OUR_ISN);
    return d;
  }

  it('C2: the SYN again gets the SYN,ACK again, at most once per tcp_invalid_ratelimit (500 ms), and nothing else', () => {
    const { tcb, sent } = halfOpen();
    tcb.input(100_000, seg(PEER_ISN, 0, SYN));
    tcb.input(599_999, seg(PEER_ISN, 0, SYN));
    tcb.input(600_000, seg(PEER_ISN, 0, SYN));
    expect(sent).toEqual(['[S.] 100:7001', '[S.] 100:7001 retransmission', '[S.] 100:7001 retransmission']);
    expect(tcb.retransmissions).toBe(2);
    expect(tcb.state).toBe('SYN-RECEIVED');
  });

  it('C2: a SYN with another sequence number is not the repeated SYN: no SYN,ACK for it', () => {
    const { tcb, sent } = halfOpen();
    tcb.input(100_000, seg(PEER_ISN + 5, 0, SYN));
    expect(sent.filter((s) => s.startsWith('[S.]'))).toEqual(['[S.] 100:7001']);
  });

  it("Karn's algorithm: after the SYN,ACK went again, its ACK gives no RTT sample", () => {
    const { tcb, srttUs } = halfOpen();
    tcb.input(200_000, seg(PEER_ISN, 0, SYN));
    tcb.input(300_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK));
    expect(tcb.state).toBe('ESTABLISHED');
    expect(srttUs()).toBe(-1);
  });

  it('C3: an ACK outside (SND.UNA, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>, a fresh segment; the half-open connection stays, and its data and FIN are not taken', () => {
    const { tcb, sent, offers } = halfOpen();
    tcb.input(100_000, seg(PEER_ISN + 1, OUR_ISN + 5, ACK | PSH | FIN, 10));
    expect(sent).toEqual(['[S.] 100:7001', '[R] 105:0']);
    expect([tcb.state, offers(), tcb.readableBytes]).toEqual(['SYN-RECEIVED', 0, 0]);
  });

  it('C3: with the accept queue full the ACK (and its data and FIN) is ignored; with tcp_abort_on_overflow it is reset, a fresh segment', () => {
    const full = halfOpen({}, false);
    full.tcb.input(100_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK | PSH | FIN, 10));
    expect(full.sent).toEqual(['[S.] 100:7001']);
    expect([full.tcb.state, full.offers(), full.tcb.readableBytes]).toEqual(['SYN-RECEIVED', 1, 0]);

    const aborting = halfOpen({ abortOnOverflow: true }, false);
    aborting.tcb.input(100_000, seg(PEER_ISN + 1, OUR_ISN + 1, ACK | PSH | FIN, 10));
    expect(aborting.sent).toEqual(['[S.] 100:7001', '[R] 101:0']);
    expect([aborting.tcb.state, aborting.tcb.readableBytes]).toEqual(['LISTEN', 0]);
  });
});

describe('the SYN retransmitted (RFC 6298 §5, Linux tcp_retransmit_timer)', () => {
  it('C1: the first SYN is not a retransmission; the one the timer sends is, and is counted', () => {
    const { tcb, sent } = driven();
    tcb.connect(0, OUR_ISN);
    expect(tcb.retransmissions).toBe(0);
    tcb.onTimer(1_000_000, TimerKind.Retransmit);
    expect(sent).toEqual(['[S] 100:0', '[S] 100:0 retransmission']);
    expect(tcb.retransmissions).toBe(1);
  });
});
