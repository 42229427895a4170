/**
 * poll() in packetdrill scripts (poll.ts, Linux tcp_poll): revents compared with the script's,
 * a timeout waited out in virtual time, a blocked poll returning at the event that makes a
 * descriptor ready. The lifecycle scripts themselves are examples/packetdrill/c01-poll-connect.pkt
 * and c03-poll-passive.pkt (C1, C3, C5). Scripts written here.
 */
import { describe, expect, it } from 'vitest';
import { parseScript } from './parser.js';
import { runScript, type ScriptResult } from './runner.js';

function run(text: string): ScriptResult {
  return runScript(parseScript(text, 'poll.pkt'), { file: 'poll.pkt', exact: true });
}

const LISTENER = `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
`;

describe('packetdrill poll()', () => {
  it('fails a script whose revents differ from what the socket has, naming both', () => {
    const result = run(`${LISTENER}   +0 poll([{fd=3, events=POLLIN, revents=POLLIN}], 1, 0) = 1\n`);
    expect(result.status).toBe('fail');
    expect(result.failure!.message).toBe('poll() fd 3 revents: expected POLLIN vs actual 0');
  });

  it('fails a script whose count differs, and passes the right one', () => {
    expect(run(`${LISTENER}   +0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 1\n`).failure!.message).toBe('poll() returned 0, expected 1');
    expect(run(`${LISTENER}   +0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0\n`).status).toBe('pass');
  });

  it('waits out its timeout in virtual time and returns 0 then', () => {
    expect(run(`${LISTENER}   +0...0.025 poll([{fd=3, events=POLLIN, revents=0}], 1, 25) = 0\n`).status).toBe('pass');
    const late = run(`${LISTENER}   +0...0.030 poll([{fd=3, events=POLLIN, revents=0}], 1, 25) = 0\n`);
    expect(late.failure!.message).toBe('timing error: expected poll() return at 0.030000 sec but happened at 0.025000 sec; tolerance 0.000000 sec');
  });

  it('a blocked poll on a listener returns when the handshake completes, with POLLIN', () => {
    const result = run(`${LISTENER}   +0...0.200 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLIN}], 1, -1) = 1
  +.1 < S 0:0(0) win 65535 <mss 1460>
   +0 > S. 0:0(0) ack 1 <mss 1460>
  +.1 < . 1:1(0) ack 1 win 65535
   +0 accept(3, ..., ...) = 4
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
  });

  it('names an event it does not know', () => {
    expect(run(`${LISTENER}   +0 poll([{fd=3, events=POLLMSG, revents=0}], 1, 0) = 0\n`).failure!.message).toBe('unknown poll event POLLMSG');
  });
});
