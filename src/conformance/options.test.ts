/**
 * TCP options as Linux 6.x negotiates them (RFC 7323; Linux tcp_syn_options,
 * tcp_established_options, tcp_options_write): MSS, timestamps and window scale in SYN and
 * SYN,ACK, timestamps on every later segment, SACK never offered (README, "Deliberately left
 * out"). TSvals print relative to the sender's SYN (milliseconds since it), TSecr relative to
 * the peer's.
 */
import { describe, expect, it } from 'vitest';
import { runConformance } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];
const PROGRAMS = [
  { host: 'server', steps: [...SERVER, 'recv c 100', 'recv-eof c', 'close c'] },
  { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848', 'send s 100', 'sleep 10ms', 'close s'] },
];

describe('timestamps and window scaling (RFC 7323), Linux defaults', () => {
  it('C1/C2: SYN and SYN,ACK carry mss, TS and wscale 7; every later segment TS, with TSecr the peer\'s latest TSval', () => {
    // Act
    const run = runConformance({ programs: PROGRAMS });
    // Assert
    // TSval is each host's millisecond clock plus the connection's offset, so relative to its
    // SYN it counts milliseconds; windows after the SYNs are scaled by 7: 65535 >> 7 = 511.
    expect(run.wire({ time: true, win: true, opts: true })).toEqual([
      '0.000000 client > server [S] seq 0 win 65535 mss 1460 ws 7 ts 0 ecr 0',
      '0.001000 server > client [S.] seq 0 ack 1 win 65535 mss 1460 ws 7 ts 0 ecr 0',
      '0.002000 client > server [.] seq 1 ack 1 win 511 ts 2 ecr 0',
      '0.002000 client > server [P.] seq 1 ack 1 len 100 win 511 ts 2 ecr 0',
      '0.003000 server > client [.] seq 1 ack 101 win 511 ts 2 ecr 2',
      '0.012000 client > server [F.] seq 101 ack 1 win 511 ts 12 ecr 2',
      '0.013000 server > client [F.] seq 1 ack 102 win 511 ts 12 ecr 12',
      '0.014000 client > server [.] seq 102 ack 2 win 511 ts 14 ecr 12',
    ]);
  });

  it('tcp_timestamps = 0 on the client: its SYN has no TS, so the SYN,ACK has none and no segment carries them; data fills the whole MSS', () => {
    // Act
    const run = runConformance({
      hostStacks: { client: { timestamps: 0 } },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 2000', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848', 'send s 2000', 'sleep 10ms', 'close s'] },
      ],
    });
    // Assert
    expect(run.wire({ opts: true }).slice(0, 6)).toEqual([
      'client > server [S] seq 0 mss 1460 ws 7',
      'server > client [S.] seq 0 ack 1 mss 1460 ws 7',
      'client > server [.] seq 1 ack 1',
      'client > server [P.] seq 1 ack 1 len 1460',
      'client > server [P.] seq 1461 ack 1 len 540',
      'server > client [.] seq 1 ack 1461',
    ]);
  });

  it('tcp_timestamps = 2: timestamps without the random offset, so TSval is the host clock in milliseconds', () => {
    // Act
    const run = runConformance({ stack: { timestamps: 2 }, programs: PROGRAMS });
    // Assert: absolute values now; the SYN,ACK leaves at 1 ms, the first ACK at 2 ms.
    expect(run.wire({ opts: true, absolute: true }).slice(0, 3).map((line) => line.replace(/seq \d+ (ack \d+ )?/, ''))).toEqual([
      'client > server [S] mss 1460 ws 7 ts 0 ecr 0',
      'server > client [S.] mss 1460 ws 7 ts 1 ecr 0',
      'client > server [.] ts 2 ecr 1',
    ]);
  });

  it('tcp_window_scaling = 0 on the server: its SYN,ACK has no wscale, so neither side scales and windows go out unshifted', () => {
    // Act
    const run = runConformance({ hostStacks: { server: { windowScaling: false } }, programs: PROGRAMS });
    // Assert
    expect(run.wire({ win: true, opts: true }).slice(0, 5)).toEqual([
      'client > server [S] seq 0 win 65535 mss 1460 ws 7 ts 0 ecr 0',
      'server > client [S.] seq 0 ack 1 win 65535 mss 1460 ts 0 ecr 0',
      'client > server [.] seq 1 ack 1 win 65535 ts 2 ecr 0',
      'client > server [P.] seq 1 ack 1 len 100 win 65535 ts 2 ecr 0',
      'server > client [.] seq 1 ack 101 win 65435 ts 2 ecr 2',
    ]);
  });

  it('the trace prints options as tcpdump does, in Linux\'s order, and never offers sackOK', () => {
    // Act
    const run = runConformance({ programs: PROGRAMS });
    // Assert
    const lines = run.tcpdump();
    expect(lines[0]).toMatch(/Flags \[S\], seq \d+, win 65535, options \[mss 1460,nop,nop,TS val \d+ ecr 0,nop,wscale 7\], length 0$/);
    expect(lines[2]).toMatch(/Flags \[\.\], ack 1, win 511, options \[nop,nop,TS val \d+ ecr \d+\], length 0$/);
    expect(lines.some((line) => line.includes('sackOK'))).toBe(false);
  });
});
