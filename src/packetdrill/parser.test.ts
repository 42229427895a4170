import { describe, expect, it } from 'vitest';
import { parseScript, ScriptSyntaxError } from './parser.js';

/** A script written here (not an upstream one): a passive open, data, and a close. */
const GOOD = `// A server's life in six lines.
--tolerance_usecs=5000

\`../common/defaults.sh\`

    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1400,sackOK,TS val 7 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <...>
 +.02~+.05 < . 1:1(0) ack 1 win 257
   +0...0.300 accept(3, ..., ...) = 4
   * > P. 1:1001(1000) ack 1
   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily
         unavailable)
 1.5 < R 1:1(0) win 0
 +0 %{ assert tcpi_state == 7 }%
\`echo done\`
`;

function errorOf(text: string): ScriptSyntaxError {
  try {
    parseScript(text, 'bad.pkt');
  } catch (error) {
    if (error instanceof ScriptSyntaxError) return error;
    throw error;
  }
  throw new Error('parsed without an error');
}

describe('packetdrill parser: good scripts', () => {
  const script = parseScript(GOOD, 'good.pkt');

  it('reads header options, the init command and the cleanup command', () => {
    expect(script.options).toEqual([{ line: 2, column: 1, name: 'tolerance_usecs', value: '5000' }]);
    expect(script.initCommands.map((c) => c.text)).toEqual(['../common/defaults.sh']);
    expect(script.cleanupCommands.map((c) => c.text)).toEqual(['echo done']);
    expect(script.events).toHaveLength(13);
  });

  it('reads times: absolute, relative, ranges, blocking ends and *, in integer µs', () => {
    const times = script.events.map((e) => e.time);
    expect(times[0]).toEqual({ kind: 'point', at: { relative: false, us: 0 } });
    expect(times[6]).toEqual({ kind: 'point', at: { relative: true, us: 20_000 }, until: { relative: true, us: 50_000 } });
    expect(times[7]).toEqual({ kind: 'point', at: { relative: true, us: 0 }, blockingEnd: { relative: false, us: 300_000 } });
    expect(times[8]).toEqual({ kind: 'any' });
    expect(times[11]).toEqual({ kind: 'point', at: { relative: false, us: 1_500_000 } });
  });

  it('reads packets: direction, flags, START:END(LEN), ack, win and the option list', () => {
    const syn = script.events[4]!.action;
    expect(syn).toEqual({
      kind: 'packet',
      packet: {
        direction: 'inbound',
        flagText: 'S',
        seqStart: 0,
        seqEnd: 0,
        payloadBytes: 0,
        window: 65535,
        options: [{ kind: 'mss', value: 1400 }, { kind: 'sackOK' }, { kind: 'TS', val: 7, ecr: 0 }, { kind: 'nop' }, { kind: 'wscale', value: 7 }],
        unmodelled: [],
      },
    });
    const synAck = script.events[5]!.action;
    expect(synAck.kind === 'packet' && synAck.packet.options).toBe('any');
    const data = script.events[8]!.action;
    expect(data.kind === 'packet' && [data.packet.flagText, data.packet.seqEnd, data.packet.payloadBytes, data.packet.options]).toEqual(['P.', 1001, 1000, null]);
  });

  it('reads system calls: ellipses, symbols or-ed, structs, lists, results and errnos spanning lines', () => {
    const linger = script.events[1]!.action;
    expect(linger.kind === 'syscall' && linger.call.args[3]).toEqual({
      kind: 'struct',
      fields: [
        { name: 'onoff', value: { kind: 'number', value: 1 } },
        { name: 'linger', value: { kind: 'number', value: 0 } },
      ],
    });
    const fcntl = script.events[9]!.action;
    expect(fcntl.kind === 'syscall' && fcntl.call.args[2]).toEqual({ kind: 'or', terms: [{ kind: 'symbol', name: 'O_RDWR' }, { kind: 'symbol', name: 'O_NONBLOCK' }] });
    const read = script.events[10]!;
    expect(read.action).toEqual({ kind: 'syscall', call: { name: 'read', args: [{ kind: 'number', value: 4 }, { kind: 'ellipsis' }, { kind: 'number', value: 10 }], result: { kind: 'number', value: -1 }, errno: 'EAGAIN' } });
    expect(read.source).toBe('+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)');
    expect(read.line).toBe(16);
  });

  it('keeps code blocks and options it does not model, by name', () => {
    expect(script.events[12]!.action).toEqual({ kind: 'code', text: 'assert tcpi_state == 7' });
    const fo = parseScript('0 < S 0:0(0) win 1 <mss 1000,FO abcd,sack 1:2 3:4>').events[0]!.action;
    expect(fo.kind === 'packet' && fo.packet.options).toEqual([
      { kind: 'mss', value: 1000 },
      { kind: 'other', name: 'FO', text: 'FO abcd' },
      { kind: 'sack', blocks: [[1, 2], [3, 4]] },
    ]);
    const ecn = parseScript('0 < [ect0] S. 0:0(0) ack 1 win 1').events[0]!.action;
    expect(ecn.kind === 'packet' && ecn.packet.unmodelled).toEqual(['ip ecn field [ect0]']);
  });

  it('reads "-" as no flags, and sequence numbers up to 2^32 - 1', () => {
    const none = parseScript('0 < - 4294967295:999(1000) win 20000').events[0]!.action;
    expect(none.kind === 'packet' && [none.packet.flagText, none.packet.seqStart, none.packet.seqEnd]).toEqual(['-', 4294967295, 999]);
  });
});

describe('packetdrill parser: bad scripts get line, column and what was expected', () => {
  it.each([
    ['0 < S 0:0 win 1', 1, 10, "'(' in START:END(LEN)"],
    ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S. 0:10(5) win 1', 2, 16, 'END = START + LEN (0 + 5 = 5)'],
    ['0 socket(..., SOCK_STREAM\n', 2, 1, "',' or ')'"],
    ['0 bind(3, ..., ...) 0', 1, 21, "'= RESULT' after bind(...)"],
    ['+x < S 0:0(0) win 1', 1, 2, 'a time: 0, 1.5, +.01 or *'],
    ['0 ? S 0:0(0)', 1, 3, "a packet ('<' inbound or '>' outbound), a system call, a `command` or %{ code }%"],
    ['0 < S 0:0(0) win 70000', 1, 18, 'the window after win no larger than 65535'],
    ['0 > S. 0:0(0) ack 1 <mss 1460,TS 1 ecr 0>', 1, 34, "'val' after TS"],
    ['0 > S. 0:0(0) ack 1 <mss 1460 wscale 7>', 1, 31, "',' or '>' in the option list"],
    ['0.1234567 close(3) = 0', 1, 1, 'a time: 0, 1.5, +.01 or * with at most 6 decimals (µs)'],
    ['0 close(3) = 0 /* never closed', 1, 16, 'the closing */ of this comment'],
    ['--tolerance_usecs=\n0 close(3) = 0', 1, 19, 'a value for --tolerance_usecs'],
    ['// nothing but a comment\n', 2, 1, 'an event (a time, then a packet, a system call or a command)'],
  ])('%j → %i:%i expected %s', (text, line, column, expected) => {
    const error = errorOf(text);
    expect([error.line, error.column, error.expected]).toEqual([line, column, expected]);
    expect(error.message).toMatch(new RegExp(`^bad\\.pkt:${line}:${column}: expected .+, found .+$`));
  });

  it('names what it found', () => {
    expect(errorOf('0 ? S 0:0(0)').found).toBe('"?"');
    expect(errorOf('0 socket(').found).toBe('the end of the script');
  });
});
