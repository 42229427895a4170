/**
 * TCP options in the packetdrill runner, as packetdrill's run_packet.c treats them: outbound
 * options checked kind by kind in wire order, TS values mapped between script and live space,
 * inbound TS ecr echoing the host's live TSval, `<...>` checking nothing, and whatever is not
 * modelled refused by name. Scripts written here; claims C1/C2 (options allowed on SYN and
 * SYN,ACK).
 */
import { describe, expect, it } from 'vitest';
import type { Segment } from '../tcp/segment.js';
import { parseScript } from './parser.js';
import { runScript, type ScriptResult } from './runner.js';

function run(text: string, lenient = false): ScriptResult {
  return runScript(parseScript(text, 'options.pkt'), { file: 'options.pkt', lenient });
}

function sent(result: ScriptResult, fromPeer: boolean): Segment[] {
  return result.events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && (e.seg.connId === -1) === fromPeer ? [e.seg] : []));
}

const ACTIVE_OPEN = `--tcp_ts_tick_usecs=1000
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.010 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 5000 ecr 100,nop,wscale 7>
   +0 > . 1:1(0) ack 1 <nop,nop,TS val 110 ecr 5000>
`;

describe('packetdrill options: timestamps', () => {
  it('maps script TS values onto the live ones: the SYN,ACK echoes the host SYN\'s live TSval (C2)', () => {
    const result = run(ACTIVE_OPEN);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
    const [syn, ack] = sent(result, false);
    const [synAck] = sent(result, true);
    expect(synAck!.tsEcr).toBe(syn!.tsVal);
    expect(synAck!.tsVal).toBe(5000);
    // The host's ACK echoes the peer's TSval as written and its own clock moved 10 ms.
    expect(ack!.tsEcr).toBe(5000);
    expect((ack!.tsVal - syn!.tsVal) >>> 0).toBe(10);
  });

  it('checks TS val with --tcp_ts_tick_usecs, within the tolerance', () => {
    const wrong = run(ACTIVE_OPEN.replace('TS val 110', 'TS val 130'));
    expect(wrong.failure!.message).toMatch(/bad outbound TCP timestamp value, tolerance 4000: expected TS val 130 vs actual 110/);
    // Without the tick the TS val is not checked, as in packetdrill.
    expect(run(ACTIVE_OPEN.replace('TS val 110', 'TS val 130').replace('--tcp_ts_tick_usecs=1000\n', '')).status).toBe('pass');
  });

  it('refuses to guess a TS ecr no outbound line showed, unless --tcp_ts_ecr_scaled', () => {
    const unknown = ACTIVE_OPEN.replace('ecr 100,', 'ecr 104,');
    const plain = run(unknown);
    expect(plain.status).toBe('fail');
    expect(plain.failure!.message).toBe('unable to infer live TS ecr for script TS ecr 104; no matching or preceding outbound TS val');
    const scaled = run(`--tcp_ts_ecr_scaled\n${unknown}`);
    expect(scaled.status).toBe('pass');
    const [syn] = sent(scaled, false);
    expect(sent(scaled, true)[0]!.tsEcr).toBe((syn!.tsVal + 4) >>> 0);
  });
});

describe('packetdrill options: order, presence, <...>', () => {
  it('compares the options in wire order, kind by kind', () => {
    const result = run(ACTIVE_OPEN.replace('<mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>', '<mss 1460,nop,wscale 7,nop,nop,TS val 100 ecr 0>'));
    expect(result.status).toBe('fail');
    expect(result.failure!.message).toMatch(/^live packet tcp options: expected: <mss 1460,nop,wscale 7,nop,nop,TS val 100 ecr 0> vs actual: <mss 1460,nop,nop,TS val \d+ ecr 0,nop,wscale 7>/);
  });

  it('compares the values of mss and wscale', () => {
    expect(run(ACTIVE_OPEN.replace('nop,wscale 7>\n +.01', 'nop,wscale 8>\n +.01')).failure!.message).toMatch(/expected: <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 8>/);
    expect(run(ACTIVE_OPEN.replace('<mss 1460,nop,nop,TS val 100', '<mss 1400,nop,nop,TS val 100')).status).toBe('fail');
  });

  it('a line without options expects none; <...> checks none', () => {
    const bare = run(ACTIVE_OPEN.replace('> . 1:1(0) ack 1 <nop,nop,TS val 110 ecr 5000>', '> . 1:1(0) ack 1'));
    expect(bare.failure!.message).toMatch(/expected: none vs actual: <nop,nop,TS val 110 ecr 5000>/);
    expect(run(ACTIVE_OPEN.replace('<nop,nop,TS val 110 ecr 5000>', '<...>')).status).toBe('pass');
  });

  it('without timestamps in the peer\'s SYN,ACK, later segments carry none (RFC 7323 §3.2)', () => {
    const result = run(`    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.010 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460>
   +0 > . 1:1(0) ack 1
`);
    expect(result.status).toBe('pass');
  });
});

describe('packetdrill options: SACK and the rest', () => {
  const PASSIVE = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
`;

  it('carries an inbound sackOK, and refuses an outbound sackOK by name: the stack never offers SACK', () => {
    const result = run(PASSIVE);
    expect(result.status).toBe('refused');
    expect(result.failure!.message).toMatch(/^not interpretable: option sackOK not modelled/);
    expect(sent(result, true)[0]!.sackOk).toBe(true);
    expect(sent(result, false)[0]!.sackOk).toBe(false);
  });

  it('with --lenient checks the rest of the line without sackOK and its padding, and says so', () => {
    const result = run(PASSIVE, true);
    expect(result.status).toBe('pass');
    expect(result.skipped.join('\n')).toMatch(/line 5: option sackOK not modelled.*the rest of the line is checked/);
    expect(run(PASSIVE.replace('sackOK,nop,wscale 7>', 'sackOK,nop,wscale 6>'), true).status).toBe('fail');
  });

  it('carries inbound SACK blocks mapped into the host\'s sequence space, and refuses options it does not know, by name', () => {
    const head = PASSIVE.split('\n').slice(0, 3).join('\n');
    const blocks = run(`${head}\n   +0 < S 0:0(0) win 32792 <mss 1000>\n   +0 > S. 0:0(0) ack 1 <...>\n +.01 < . 1:1(0) ack 1 win 257 <nop,nop,sack 1:2>\n`);
    expect(blocks.failure?.message ?? null).toBeNull();
    const [synAck] = sent(blocks, false);
    expect(sent(blocks, true)[1]!.sackBlocks).toEqual([(synAck!.seq + 1) >>> 0, (synAck!.seq + 2) >>> 0]);
    const fastOpen = run(`${head}\n   +0 < S 0:0(0) win 32792 <mss 1000,FO abcd>\n`);
    expect(fastOpen.failure!.message).toBe('not interpretable: option FO not modelled');
  });
});

const SACK_SCRIPT = `\`sysctl -q net.ipv4.tcp_sack=1\`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
 +.01 < . 1:1(0) ack 1 win 32792
   +0 accept(3, ..., ...) = 4
   +0 < . 1001:2001(1000) ack 1 win 32792
   +0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001>
`;

describe('packetdrill options: SACK with tcp_sack on', () => {
  it('offers sackOK and sends SACK blocks for out-of-order data, checked in script space (RFC 2018 §4)', () => {
    const result = run(SACK_SCRIPT);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
    const wrong = run(SACK_SCRIPT.replace('<nop,nop,sack 1001:2001>', '<nop,nop,sack 1001:2002>'));
    expect(wrong.failure!.message).toMatch(/^live packet tcp options: expected: <nop,nop,sack 1001:2002> vs actual: <nop,nop,sack 1001:2001>/);
  });
});

describe('packetdrill options: window scaling', () => {
  it('the host reads the peer\'s window field scaled by its wscale once both SYNs carried one (RFC 7323 §2.3)', () => {
    // win 257 << 7 = 32,896 bytes: a 40,000-byte write sends that much at once, then waits.
    const result = run(`    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>
 +.01 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 40000) = 40000
   +0 > P. 1:32897(32896) ack 1
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(sent(result, false).filter((s) => s.payload.length > 0 && !s.retransmission).reduce((n, s) => n + s.payload.length, 0)).toBe(32896);
  });
});

describe('packetdrill options: header switches', () => {
  it('refuses a --tcp_ts_tick_usecs that is not a count, and a --tcp_ts_ecr_scaled with a value, by name', () => {
    const tick = run(`--tcp_ts_tick_usecs=fast\n${ACTIVE_OPEN.split('\n').slice(1).join('\n')}`);
    expect(tick.status).toBe('refused');
    expect(tick.failure!.message).toBe('not interpretable: --tcp_ts_tick_usecs needs a non-negative integer, got fast');
    const scaled = run(`--tcp_ts_ecr_scaled=1\n${ACTIVE_OPEN}`);
    expect(scaled.failure!.message).toBe('not interpretable: --tcp_ts_ecr_scaled takes no value, got 1');
  });

  it('maps tcp_timestamps=0 from a sysctl command: the host\'s SYN then carries no TS', () => {
    const result = run(`\`sysctl -q net.ipv4.tcp_timestamps=0\`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.010 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,nop,wscale 7>
 +.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>
   +0 > . 1:1(0) ack 1
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
  });
});

describe('packetdrill: SO_RCVBUF and SO_SNDBUF', () => {
  it('setsockopt doubles the value, and getsockopt compares the doubled one', () => {
    const script = (rcv: number, snd: number) => `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [4096], 4) = 0
   +0 setsockopt(3, SOL_SOCKET, SO_SNDBUF, [21000], 4) = 0
   +0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [${rcv}], [4]) = 0
   +0 getsockopt(3, SOL_SOCKET, SO_SNDBUF, [${snd}], [4]) = 0
`;
    expect(run(script(8192, 42000)).status).toBe('pass');
    expect(run(script(4096, 42000)).failure!.message).toBe('getsockopt(SO_RCVBUF) gave 8192, expected 4096');
    expect(run(script(8192, 21000)).failure!.message).toBe('getsockopt(SO_SNDBUF) gave 42000, expected 21000');
  });
});
