/**
 * Retransmission of a connection's last segment as Linux 6.x does it: the tail-loss probe
 * (RFC 8985 §7; tcp_schedule_loss_probe, tcp_send_loss_probe; tcp_early_retrans = 3), which
 * Linux arms only on a SACK connection (tcp_is_sack). Our stacks offer sackOK only with the
 * `sack` setting (tcp_sack; off by default here, README), so each scenario runs with SACK on and
 * off. With one segment in flight the probe timeout, 2·SRTT + tcp_rto_min, is capped by the RTO:
 * the first retransmission goes at the same time either way, but a probe does not back the RTO
 * off, so the retransmission after it comes one RTO later, not two. On Linux 6.18 (`timewait
 * kernel examples/kernel-checks/lone-fin-lost-twice-sack-{0,1}.json`) a lone FIN lost twice is
 * resent after 208 and 208 ms with tcp_sack 1, after 205 and 436 ms with tcp_sack 0.
 */
import { describe, expect, it } from 'vitest';
import { runConformance, type ConformanceSpec } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];

/** The article's prompt three-segment close (C7), with the client's final ACK lost, and the ACK of the first retransmission too. */
function lostFinalAck(sack: boolean): ConformanceSpec {
  return {
    stack: { sack },
    dropWire: [7, 9],
    programs: [
      { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
      { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 100', 'close s'] },
    ],
  };
}

/** The client's lone FIN (sent 100 ms after its data) lost, and its first retransmission too. */
function lostLoneFin(sack: boolean): ConformanceSpec {
  return {
    stack: { sack },
    dropWire: [5, 6],
    programs: [
      { host: 'server', steps: [...SERVER, 'recv c 100', 'recv-eof c', 'close c'] },
      { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 100', 'sleep 100ms', 'close s'] },
    ],
  };
}

/** 4000 bytes in three segments: the last is lost (a tail loss), then its first retransmission. */
function lostLastSegment(sack: boolean, drops: readonly number[] = [5, 8]): ConformanceSpec {
  return {
    stack: { sack },
    dropWire: drops,
    programs: [
      { host: 'server', steps: [...SERVER, 'recv c 4000', 'recv-eof c', 'close c'] },
      { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 4000', 'sleep 2s', 'close s'] },
    ],
  };
}

describe('tail-loss probe (RFC 8985 §7, Linux tcp_early_retrans = 3)', () => {
  it('C9: a lost final ACK: the server\'s FIN is re-sent as a probe, re-ACKed from TIME-WAIT (2·MSL restarted); the RTO after the probe is not backed off', () => {
    // Arrange
    const spec = lostFinalAck(true);
    // Act
    const run = runConformance(spec);
    // Assert: the server's SRTT is 2 ms (its SYN,ACK), so PTO = 4 + 200 ms, capped by the RTO
    // (202 ms): the probe goes at 0.205. Its ACK is lost as well; the RTO then counts from the
    // probe without backoff: 0.407, 202 ms later.
    expect(run.wire({ time: true, rtx: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1',
      '0.002000 client > server [P.] seq 1 ack 1 len 100',
      '0.002000 client > server [F.] seq 101 ack 1',
      '0.003000 server > client [.] seq 1 ack 101',
      '0.003000 server > client [F.] seq 1 ack 102',
      '0.004000 client > server [.] seq 102 ack 2 (dropped)',
      '0.205000 server > client [F.] seq 1 ack 102 (rtx)',
      '0.206000 client > server [.] seq 102 ack 2 (dropped)',
      '0.407000 server > client [F.] seq 1 ack 102 (rtx)',
      '0.408000 client > server [.] seq 102 ack 2',
    ]);
    expect(run.states({ time: true, causes: true }).filter((line) => line.includes('TIME-WAIT') || line.includes('LAST-ACK=>'))).toEqual([
      '0.004000 client.51560 FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      '0.206000 client.51560 TIME-WAIT restarted (rcv FIN)',
      '0.408000 client.51560 TIME-WAIT restarted (rcv FIN)',
      '0.409000 server.8848 LAST-ACK=>CLOSED (rcv ACK of FIN)',
      '60.408000 client.51560 TIME-WAIT=>CLOSED (2MSL timeout)',
    ]);
  });

  it('C9: the same without SACK: no probe; the RTO backs off, so the second retransmission comes 404 ms after the first', () => {
    // Arrange
    const spec = lostFinalAck(false);
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true, rtx: true }).slice(8)).toEqual([
      '0.205000 server > client [F.] seq 1 ack 102 (rtx)',
      '0.206000 client > server [.] seq 102 ack 2 (dropped)',
      '0.609000 server > client [F.] seq 1 ack 102 (rtx)',
      '0.610000 client > server [.] seq 102 ack 2',
    ]);
    expect(run.states({ time: true }).filter((line) => line.includes('TIME-WAIT restarted'))).toEqual(['0.206000 client.51560 TIME-WAIT restarted (rcv FIN)', '0.610000 client.51560 TIME-WAIT restarted (rcv FIN)']);
  });

  it('C5: a lost lone FIN is probed 202 ms after it left (2·SRTT + 200 ms, capped by the RTO), then the RTO follows 202 ms after the probe; without SACK 404 ms', () => {
    // Arrange, Act
    const withSack = runConformance(lostLoneFin(true));
    const withoutSack = runConformance(lostLoneFin(false));
    // Assert: the client's SRTT is 1.875 ms (SYN 2 ms, data 1 ms): PTO 203.75 ms, RTO 202 ms.
    expect(withSack.wire({ time: true, rtx: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1',
      '0.002000 client > server [P.] seq 1 ack 1 len 100',
      '0.003000 server > client [.] seq 1 ack 101',
      '0.102000 client > server [F.] seq 101 ack 1 (dropped)',
      '0.304000 client > server [F.] seq 101 ack 1 (rtx) (dropped)',
      '0.506000 client > server [F.] seq 101 ack 1 (rtx)',
      '0.507000 server > client [F.] seq 1 ack 102',
      '0.508000 client > server [.] seq 102 ack 2',
    ]);
    expect(withoutSack.wire({ time: true, rtx: true }).slice(5)).toEqual([
      '0.102000 client > server [F.] seq 101 ack 1 (dropped)',
      '0.304000 client > server [F.] seq 101 ack 1 (rtx) (dropped)',
      '0.708000 client > server [F.] seq 101 ack 1 (rtx)',
      '0.709000 server > client [F.] seq 1 ack 102',
      '0.710000 client > server [.] seq 102 ack 2',
    ]);
    expect(withSack.mismatches()).toEqual([]);
  });

  it('C5: a tail loss: the probe resends the last segment, not the first unacknowledged one, once the ACKs of the others have come', () => {
    // Arrange, Act
    const withSack = runConformance(lostLastSegment(true));
    const withoutSack = runConformance(lostLastSegment(false));
    // Assert: the ACKs at 0.004 leave one segment in flight; the probe is armed from them
    // (tcp_set_xmit_timer), capped by the RTO: 0.206. The RTO after it: 0.408.
    expect(withSack.wire({ time: true, rtx: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1',
      '0.002000 client > server [P.] seq 1 ack 1 len 1448',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448',
      '0.002000 client > server [P.] seq 2897 ack 1 len 1104 (dropped)',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.003000 server > client [.] seq 1 ack 2897',
      '0.206000 client > server [P.] seq 2897 ack 1 len 1104 (rtx) (dropped)',
      '0.408000 client > server [P.] seq 2897 ack 1 len 1104 (rtx)',
      '0.409000 server > client [.] seq 1 ack 4001',
      '2.002000 client > server [F.] seq 4001 ack 1',
      '2.003000 server > client [F.] seq 1 ack 4002',
      '2.004000 client > server [.] seq 4002 ack 2',
    ]);
    expect(withoutSack.wire({ time: true, rtx: true }).slice(8, 10)).toEqual([
      '0.206000 client > server [P.] seq 2897 ack 1 len 1104 (rtx) (dropped)',
      '0.610000 client > server [P.] seq 2897 ack 1 len 1104 (rtx)',
    ]);
    expect(withSack.streams().problems).toEqual([]);
  });

  it('C5: with several segments in flight the probe comes after 2·SRTT + 2 ms, and resends the newest one', () => {
    // Arrange: the receiver's three ACKs are lost, so nothing is acknowledged when the probe is due.
    const spec: ConformanceSpec = { ...lostLastSegment(true, [6, 7, 8]) };
    // Act
    const run = runConformance(spec);
    // Assert: SRTT 2 ms: PTO = 4 + 2 ms after the data left, at 0.008; it resends the newest
    // segment (RFC 8985 §7.3), whose ACK covers everything. Without SACK the RTO would resend
    // the first segment at 0.204.
    expect(run.wire({ time: true, rtx: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 1448',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448',
      '0.002000 client > server [P.] seq 2897 ack 1 len 1104',
      '0.003000 server > client [.] seq 1 ack 1449 (dropped)',
      '0.003000 server > client [.] seq 1 ack 2897 (dropped)',
      '0.003000 server > client [.] seq 1 ack 4001 (dropped)',
      '0.008000 client > server [P.] seq 2897 ack 1 len 1104 (rtx)',
      '0.009000 server > client [.] seq 1 ack 4001',
      '2.002000 client > server [F.] seq 4001 ack 1',
      '2.003000 server > client [F.] seq 1 ack 4002',
      '2.004000 client > server [.] seq 4002 ack 2',
    ]);
    expect(runConformance(lostLastSegment(false, [6, 7, 8])).wire({ time: true, rtx: true })[9]).toBe('0.204000 client > server [P.] seq 1 ack 1 len 1448 (rtx)');
  });
});

describe('SACK (RFC 2018, Linux tcp_sack)', () => {
  it('sackOK is offered in SYN and SYN,ACK between MSS and timestamps when both ends have it; the receiver\'s ACKs then name its out-of-order data, and no probe is sent while they do', () => {
    // Arrange: the first of three segments is lost.
    const spec: ConformanceSpec = { ...lostLastSegment(true, [3]) };
    // Act
    const run = runConformance(spec);
    // Assert: RFC 2018 §4: each duplicate ACK's first block holds the segment that triggered it.
    // With data SACKed above SND.UNA, Linux's sender is in TCP_CA_Disorder: no loss probe (Linux
    // would resend at once by RACK, which is left out); the RTO resends the head.
    expect(run.wire({ time: true, rtx: true, opts: true }).slice(0, 10)).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460 sackOK ws 7 ts 0 ecr 0',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460 sackOK ws 7 ts 0 ecr 0',
      '0.002000 client > server [.] seq 1 ack 1 ts 2 ecr 0',
      '0.002000 client > server [P.] seq 1 ack 1 len 1448 ts 2 ecr 0 (dropped)',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448 ts 2 ecr 0',
      '0.002000 client > server [P.] seq 2897 ack 1 len 1104 ts 2 ecr 0',
      '0.003000 server > client [.] seq 1 ack 1 ts 2 ecr 2 sack {1449:2897}',
      '0.003000 server > client [.] seq 1 ack 1 ts 2 ecr 2 sack {1449:4001}',
      '0.204000 client > server [P.] seq 1 ack 1 len 1448 ts 204 ecr 2 (rtx)',
      '0.205000 server > client [.] seq 1 ack 4001 ts 204 ecr 204',
    ]);
    // The SYN's options on the wire, as tcpdump prints them: Linux's order.
    expect(run.tcpdump()[0]).toContain('options [mss 1460,sackOK,TS val');
  });

  it('sackOK from one side only is not in effect: the SYN,ACK does not echo it and no ACK carries blocks', () => {
    // Arrange: only the client has tcp_sack.
    const spec: ConformanceSpec = { ...lostLastSegment(true, [3]), stack: {}, hostStacks: { client: { sack: true } } };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ opts: true }).slice(0, 2)).toEqual(['client > server [S] seq 0 mss 1460 sackOK ws 7 ts 0 ecr 0', 'server > client [S.] seq 0 ack 1 mss 1460 ws 7 ts 0 ecr 0']);
    expect(run.wire({ opts: true }).filter((line) => line.includes('sack {'))).toEqual([]);
  });
});
