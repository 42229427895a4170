/**
 * The lifecycle monitors on handcrafted traces: legal-transitions (RFC 9293 Figure 5 and the
 * edges its text adds), termination (every connection CLOSED at the end but one left half-open
 * by its peer's crash), and bind-in-use (C11–C13: Linux's bind conflict rule).
 */
import { describe, expect, it } from 'vitest';
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { call, conn, CONTEXT, judge, state, verdict } from './trace-test-support.js';
import { BindInUseMonitor, LegalTransitionsMonitor, TerminationMonitor } from './lifecycle-monitors.js';

const client = conn(1, 'a', 40000, 80);
const server = conn(2, 'b', 80, 40000, true);

describe('legal-transitions (RFC 9293 §3.3.2)', () => {
  it('every edge of Figure 5 and of the text passes', () => {
    const edges: [ConnInfo, TcpState, TcpState][] = [
      [client, 'CLOSED', 'SYN-SENT'], [client, 'SYN-SENT', 'ESTABLISHED'], [client, 'ESTABLISHED', 'FIN-WAIT-1'], [client, 'FIN-WAIT-1', 'FIN-WAIT-2'],
      [client, 'FIN-WAIT-2', 'TIME-WAIT'], [client, 'TIME-WAIT', 'CLOSED'], [server, 'LISTEN', 'SYN-RECEIVED'], [server, 'SYN-RECEIVED', 'CLOSE-WAIT'],
    ];
    expect(judge(new LegalTransitionsMonitor(CONTEXT), edges.map(([c, from, to], i) => state(i, c, from, to)))).toBeNull();
  });

  it('a change that is no edge is reported with its cause, on its connection', () => {
    const events = [state(0, client, 'CLOSED', 'SYN-SENT'), state(5, client, 'SYN-SENT', 'TIME-WAIT', 'rcv FIN')];
    expect(verdict(new LegalTransitionsMonitor(CONTEXT), events)).toEqual({ message: 'illegal transition SYN-SENT=>TIME-WAIT (rcv FIN)', connId: 1, eventIndex: 1 });
    expect(judge(new LegalTransitionsMonitor(CONTEXT), [state(0, client, 'TIME-WAIT', 'ESTABLISHED')])).toBe('illegal transition TIME-WAIT=>ESTABLISHED ()');
  });
});

describe('termination (RFC 9293 §3.8.3, C8)', () => {
  const opened = [state(0, client, 'SYN-SENT', 'ESTABLISHED'), state(0, server, 'SYN-RECEIVED', 'ESTABLISHED')];
  const closed = [state(9, client, 'TIME-WAIT', 'CLOSED'), state(9, server, 'LAST-ACK', 'CLOSED')];
  const crash = (host: string, atUs: number): TraceEvent => ({ type: 'host', atUs, host, event: 'crash' });

  it('a run that used up its event budget is a livelock, whatever the connections', () => {
    expect(verdict(new TerminationMonitor(CONTEXT), [...opened, ...closed], { stoppedBy: 'event-budget', atUs: 777 })).toEqual({ message: 'the run used up its event budget (4 events) at 777 us: a livelock', connId: -1, eventIndex: -1 });
  });

  it('every connection CLOSED, or a passive child back in LISTEN, passes; any other state at the end is reported on its connection', () => {
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, ...closed])).toBeNull();
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, closed[0]!, state(9, server, 'SYN-RECEIVED', 'LISTEN')])).toBeNull();
    expect(verdict(new TerminationMonitor(CONTEXT), [...opened, closed[0]!])).toEqual({ message: 'connection still ESTABLISHED when the run ended (idle) at 10000 us', connId: 2, eventIndex: -1 });
    // An active opener has no listener to return to.
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, closed[1]!, state(9, client, 'SYN-SENT', 'LISTEN')])).toBe('connection still LISTEN when the run ended (idle) at 10000 us');
  });

  it('RFC 9293 §3.5.2: a connection with nothing to resend whose peer crashed after it opened may stay half-open', () => {
    for (const quiet of ['ESTABLISHED', 'CLOSE-WAIT', 'FIN-WAIT-2'] as const) {
      const events = [...opened, state(5, server, 'ESTABLISHED', 'CLOSED', 'host crash'), crash('b', 5), state(6, client, 'ESTABLISHED', quiet)];
      expect(judge(new TerminationMonitor(CONTEXT), quiet === 'ESTABLISHED' ? events.slice(0, 4) : events)).toBeNull();
    }
    // FIN-WAIT-1 and LAST-ACK still have a FIN to resend: they must end.
    for (const busy of ['FIN-WAIT-1', 'LAST-ACK'] as const) {
      const events = [...opened, state(5, server, 'ESTABLISHED', 'CLOSED', 'host crash'), crash('b', 5), state(6, client, 'ESTABLISHED', busy)];
      expect(judge(new TerminationMonitor(CONTEXT), events)).toBe(`connection still ${busy} when the run ended (idle) at 10000 us`);
    }
  });

  it('only a crash of the peer\'s host, at or after the connection opened, excuses it', () => {
    const lateClient = conn(3, 'a', 40001, 80);
    // The crash at 5 came before this connection's first state change at 6: it is no half-open connection.
    expect(judge(new TerminationMonitor(CONTEXT), [crash('b', 5), state(6, lateClient, 'SYN-SENT', 'ESTABLISHED')])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
    expect(judge(new TerminationMonitor(CONTEXT), [state(5, lateClient, 'SYN-SENT', 'ESTABLISHED'), crash('b', 5)])).toBeNull();
    // Its own host's crash, or a host that is not its peer's, excuses nothing.
    expect(judge(new TerminationMonitor(CONTEXT), [state(5, lateClient, 'SYN-SENT', 'ESTABLISHED'), crash('a', 6)])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
    expect(judge(new TerminationMonitor(CONTEXT), [state(5, lateClient, 'SYN-SENT', 'ESTABLISHED'), crash('c', 6)])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
    // A context without host addresses knows no peer host.
    expect(judge(new TerminationMonitor({ ...CONTEXT, hostIps: undefined }), [state(5, lateClient, 'SYN-SENT', 'ESTABLISHED'), crash('b', 6)])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
  });

  it('only a crash counts: a restart alone leaves the connection to be judged', () => {
    const restart: TraceEvent = { type: 'host', atUs: 6, host: 'b', event: 'restart' };
    expect(judge(new TerminationMonitor(CONTEXT), [state(5, client, 'SYN-SENT', 'ESTABLISHED'), restart])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
  });
});

describe('bind-in-use (C11–C13, Linux inet_csk_bind_conflict)', () => {
  /** Host b's server ended in TIME-WAIT on port 80 (its connection opened with `reuseAddr`). */
  const timeWait = (reuseAddr: boolean): TraceEvent[] => {
    const holder = { ...conn(2, 'b', 80, 40000), reuseAddr };
    return [state(0, holder, 'SYN-RECEIVED', 'ESTABLISHED'), state(5, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
  };
  const socket = (fd: number): TraceEvent => call(6, 'b', { op: 'socket', sock: `s${fd}` }, 'ok', fd);
  const reuse = (fd: number, value = true, connId = -1): TraceEvent => call(6, 'b', { op: 'setsockopt', sock: `s${fd}`, option: 'SO_REUSEADDR', value }, 'ok', fd, connId);
  const bind = (fd: number, result: string, port = 80, address?: string): TraceEvent => call(7, 'b', { op: 'bind', sock: `s${fd}`, port, ...(address === undefined ? {} : { address }) }, result, fd);
  const listen = (fd: number): TraceEvent => call(7, 'b', { op: 'listen', sock: `s${fd}`, backlog: 8 }, 'ok', fd);

  it('C11: without SO_REUSEADDR a TIME-WAIT holds its port: bind must fail', () => {
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(false), socket(3), bind(3, 'EADDRINUSE')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(false), socket(3), bind(3, 'ok')])).toBe('b: bind to port 80 succeeded, but connection #2 holds it (Linux: EADDRINUSE)');
    // SO_REUSEADDR on the new socket alone is not enough: the TIME-WAIT's socket had it off.
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(false), socket(3), reuse(3), bind(3, 'ok')])).toBe('b: bind to port 80 succeeded, but connection #2 holds it (Linux: EADDRINUSE)');
  });

  it('C12: with SO_REUSEADDR on both, the TIME-WAIT does not hold the port: bind must succeed', () => {
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(true), socket(3), reuse(3), bind(3, 'ok')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(true), socket(3), reuse(3), bind(3, 'EADDRINUSE')])).toBe('b: bind to port 80 failed with EADDRINUSE, but no owner of the port conflicts (SO_REUSEADDR true)');
    // Switched off again before the bind, or failed to set: the rule sees it off.
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(true), socket(3), reuse(3), reuse(3, false), bind(3, 'EADDRINUSE')])).toBeNull();
    const failed = call(6, 'b', { op: 'setsockopt', sock: 's3', option: 'SO_REUSEADDR', value: true }, 'EBADF', 3);
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(true), socket(3), failed, bind(3, 'EADDRINUSE')])).toBeNull();
  });

  it('C12: SO_REUSEADDR set on a connection after it opened is the one its TIME-WAIT has', () => {
    const events = [...timeWait(false), reuse(9, true, 2), socket(3), reuse(3), bind(3, 'ok')];
    expect(judge(new BindInUseMonitor(CONTEXT), events)).toBeNull();
  });

  it('C13: a listening socket holds its port even with SO_REUSEADDR on both; a bound one with it on both does not', () => {
    const listener = [socket(4), reuse(4), bind(4, 'ok'), listen(4)];
    expect(judge(new BindInUseMonitor(CONTEXT), [...listener, socket(3), reuse(3), bind(3, 'ok')])).toBe('b: bind to port 80 succeeded, but socket 4 (listening) holds it (Linux: EADDRINUSE)');
    const bound = [socket(4), reuse(4), bind(4, 'ok')];
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), reuse(3), bind(3, 'ok')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok')])).toBe('b: bind to port 80 succeeded, but socket 4 holds it (Linux: EADDRINUSE)');
    // A failed listen leaves the socket merely bound.
    const failedListen = call(7, 'b', { op: 'listen', sock: 's4', backlog: 8 }, 'EINVAL', 4);
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, failedListen, socket(3), reuse(3), bind(3, 'ok')])).toBeNull();
  });

  it('Linux inet_rcv_saddr_equal: two different specific addresses never conflict; the wildcard overlaps every address', () => {
    const bound = [socket(4), bind(4, 'ok', 80, '10.0.0.2')];
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 80, '10.0.0.9')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 80, '0.0.0.0')])).toBe('b: bind to port 80 succeeded, but socket 4 holds it (Linux: EADDRINUSE)');
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 80, '10.0.0.2')])).toBe('b: bind to port 80 succeeded, but socket 4 holds it (Linux: EADDRINUSE)');
    // A connection's own address is compared the same way (b is 10.0.0.2).
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(false), socket(3), bind(3, 'ok', 80, '10.0.0.9')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...timeWait(false), socket(3), bind(3, 'ok', 80, '10.0.0.2')])).toBe('b: bind to port 80 succeeded, but connection #2 holds it (Linux: EADDRINUSE)');
  });

  it('what holds a port stops holding it: a CLOSED connection, a closed or connected socket, a crashed host', () => {
    const holder = conn(2, 'b', 80, 40000);
    const closedConn = [state(0, holder, 'SYN-RECEIVED', 'ESTABLISHED'), state(5, holder, 'TIME-WAIT', 'CLOSED')];
    expect(judge(new BindInUseMonitor(CONTEXT), [...closedConn, socket(3), bind(3, 'EADDRINUSE')])).toBe('b: bind to port 80 failed with EADDRINUSE, but no owner of the port conflicts (SO_REUSEADDR false)');
    const child = conn(5, 'b', 80, 40000, true);
    expect(judge(new BindInUseMonitor(CONTEXT), [state(0, child, 'LISTEN', 'SYN-RECEIVED'), state(1, child, 'SYN-RECEIVED', 'LISTEN'), socket(3), bind(3, 'EADDRINUSE')])).not.toBeNull();
    const bound = [socket(4), bind(4, 'ok')];
    for (const op of ['close', 'connect'] as const) {
      const gone = op === 'close' ? call(7, 'b', { op: 'close', sock: 's4' }, 'ok', 4) : call(7, 'b', { op: 'connect', sock: 's4', host: 'a', port: 9 }, 'ok', 4);
      expect(judge(new BindInUseMonitor(CONTEXT), [...bound, gone, socket(3), bind(3, 'EADDRINUSE')])).not.toBeNull();
    }
    const crash: TraceEvent = { type: 'host', atUs: 7, host: 'b', event: 'crash' };
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, ...timeWait(false), crash, socket(3), bind(3, 'ok')])).toBeNull();
    // Another host's crash takes nothing from b.
    const otherCrash: TraceEvent = { type: 'host', atUs: 7, host: 'a', event: 'crash' };
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, otherCrash, socket(3), bind(3, 'ok')])).toBe('b: bind to port 80 succeeded, but socket 4 holds it (Linux: EADDRINUSE)');
  });

  it('only a first bind to a nonzero port of a socket the monitor saw made is judged, and only a successful one takes the port', () => {
    const bound = [socket(4), bind(4, 'ok')];
    // bind(0) (an ephemeral port), a second bind on a bound socket, a socket never seen: nothing to judge.
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 0)])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 81), bind(3, 'ok', 80)])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, bind(7, 'ok')])).toBeNull();
    // A socket does not conflict with itself, and a failed bind takes no port.
    expect(judge(new BindInUseMonitor(CONTEXT), [socket(4), bind(4, 'EACCES'), bind(4, 'ok')])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [socket(4), bind(4, 'EACCES'), socket(3), bind(3, 'ok')])).toBeNull();
    // Another port, another host: no conflict.
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, socket(3), bind(3, 'ok', 81)])).toBeNull();
    expect(judge(new BindInUseMonitor(CONTEXT), [...bound, call(8, 'a', { op: 'socket', sock: 's3' }, 'ok', 3), call(8, 'a', { op: 'bind', sock: 's3', port: 80 }, 'ok', 3)])).toBeNull();
  });
});
