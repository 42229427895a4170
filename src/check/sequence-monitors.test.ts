/**
 * The sequence-number monitors on handcrafted traces: syn-ack (C2–C4: until the peer's data or
 * FIN, every ACK is its ISN + 1), fin-ack (C4: once the peer's FIN is taken, ACKs are its
 * seq + 1) and seq-space (RFC 9293 §3.3.1: no skipped space, nothing acknowledged unsent), each
 * across the 2^32 wrap.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, SYN } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { conn, CONTEXT, judge, seg, sent, state, verdict } from './trace-test-support.js';
import { FinAckMonitor, SeqSpaceMonitor, SynAckMonitor } from './sequence-monitors.js';

const client = conn(1, 'a', 40000, 80);
const server = conn(2, 'b', 80, 40000, true);
const accepted = (atUs: number, by: typeof client, s: ReturnType<typeof seg>): TraceEvent => ({ type: 'accepted', atUs, conn: by, seg: s });
const opened: TraceEvent[] = [state(0, client, 'SYN-SENT', 'ESTABLISHED'), state(0, server, 'SYN-RECEIVED', 'ESTABLISHED')];

describe('syn-ack (C2–C4)', () => {
  // The server's SYN,ACK (ISN 0xffffffff) is accepted by the client: its ACKs must say 0 (ISN + 1, mod 2^32).
  const synAck = seg(server, { seq: 0xffff_ffff, ack: 1001, flags: SYN | ACK });
  const took = [...opened, accepted(1, client, synAck)];

  it('C3: the ACK of the SYN is ISN + 1 across the wrap; one more or one less is reported on the connection', () => {
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 0, flags: ACK }))])).toBeNull();
    expect(verdict(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 1, flags: ACK }))])).toEqual({ message: 'ACK of SYN is 1, expected ISN+1 = 0 (peer ISN 4294967295)', connId: 1, eventIndex: 3 });
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 0xffff_ffff, flags: ACK }))])).toBe('ACK of SYN is 4294967295, expected ISN+1 = 0 (peer ISN 4294967295)');
  });

  it('only a SYN sets the ISN (a RST with SYN does not); segments without ACK, resets and host segments are not judged', () => {
    const rstSyn = seg(server, { seq: 5, flags: SYN | RST });
    expect(judge(new SynAckMonitor(CONTEXT), [...opened, accepted(1, client, rstSyn), sent(1, seg(client, { seq: 1001, ack: 9, flags: ACK }))])).toBeNull();
    expect(judge(new SynAckMonitor(CONTEXT), [...opened, accepted(1, client, seg(server, { seq: 5, ack: 1001, flags: ACK })), sent(1, seg(client, { seq: 1001, ack: 9, flags: ACK }))])).toBeNull();
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 7, flags: RST | ACK }))])).toBeNull();
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 7, flags: FIN }))])).toBeNull();
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(client, { seq: 1001, ack: 7, flags: ACK, connId: -1 }))])).toBeNull();
    // Another connection's ACKs are judged by its own peer's ISN, which it has not accepted.
    expect(judge(new SynAckMonitor(CONTEXT), [...took, sent(1, seg(server, { seq: 0, ack: 7, flags: ACK }))])).toBeNull();
  });

  it('C2: once the peer\'s data or FIN is accepted, the ACKs move past ISN + 1 and are no longer judged here', () => {
    const data = seg(server, { seq: 0, ack: 1001, flags: ACK, bytes: 10 });
    expect(judge(new SynAckMonitor(CONTEXT), [...took, accepted(2, client, data), sent(2, seg(client, { seq: 1001, ack: 10, flags: ACK }))])).toBeNull();
    const fin = seg(server, { seq: 0, ack: 1001, flags: FIN | ACK });
    expect(judge(new SynAckMonitor(CONTEXT), [...took, accepted(2, client, fin), sent(2, seg(client, { seq: 1001, ack: 1, flags: ACK }))])).toBeNull();
    // A bare ACK accepted is neither: the next ACK is still judged.
    const bare = seg(server, { seq: 0, ack: 1001, flags: ACK });
    expect(judge(new SynAckMonitor(CONTEXT), [...took, accepted(2, client, bare), sent(2, seg(client, { seq: 1001, ack: 1, flags: ACK }))])).toBe('ACK of SYN is 1, expected ISN+1 = 0 (peer ISN 4294967295)');
  });
});

describe('fin-ack (C4)', () => {
  // The client's FIN occupies 0xfffffffe after 9 bytes from 0xfffffff5, so the server's ACK must be 0xffffffff.
  const clientFin = seg(client, { seq: 0xffff_fff5, ack: 1, flags: FIN | ACK, bytes: 9 });
  const took = [...opened, sent(5, clientFin), state(6, server, 'ESTABLISHED', 'CLOSE-WAIT')];

  it('C4: after taking the FIN, the ACK is the FIN\'s seq + 1 (after its data, across the wrap); else reported on the connection', () => {
    expect(judge(new FinAckMonitor(CONTEXT), [...took, sent(6, seg(server, { seq: 1, ack: 0xffff_ffff, flags: ACK }))])).toBeNull();
    expect(verdict(new FinAckMonitor(CONTEXT), [...took, sent(6, seg(server, { seq: 1, ack: 0xffff_fffe, flags: ACK }))])).toEqual({ message: 'ACK after the peer\'s FIN is 4294967294, expected FIN seq + 1 = 4294967295', connId: 2, eventIndex: 4 });
  });

  it('C4: the states that mean the FIN was taken: CLOSE-WAIT, CLOSING, TIME-WAIT from FIN-WAIT-2 (not from CLOSING, whose FIN came earlier)', () => {
    const wrong = sent(6, seg(server, { seq: 1, ack: 5, flags: ACK }));
    const fromFw2 = [...opened, sent(5, clientFin), state(6, server, 'FIN-WAIT-2', 'TIME-WAIT'), wrong];
    expect(judge(new FinAckMonitor(CONTEXT), fromFw2)).toBe('ACK after the peer\'s FIN is 5, expected FIN seq + 1 = 4294967295');
    const closing = [...opened, sent(5, clientFin), state(6, server, 'FIN-WAIT-1', 'CLOSING'), wrong];
    expect(judge(new FinAckMonitor(CONTEXT), closing)).toBe('ACK after the peer\'s FIN is 5, expected FIN seq + 1 = 4294967295');
    // Entering TIME-WAIT from CLOSING alone says nothing new; FIN-WAIT-1 says nothing yet.
    expect(judge(new FinAckMonitor(CONTEXT), [...opened, sent(5, clientFin), state(6, server, 'CLOSING', 'TIME-WAIT'), wrong])).toBeNull();
    expect(judge(new FinAckMonitor(CONTEXT), [...opened, sent(5, clientFin), state(6, server, 'ESTABLISHED', 'FIN-WAIT-1'), wrong])).toBeNull();
  });

  it('not judged: before the FIN was taken, a RST, a segment without ACK, a host segment, a peer that sent no FIN', () => {
    const wrong = (flags: number, connId?: number) => sent(6, seg(server, { seq: 1, ack: 5, flags, ...(connId === undefined ? {} : { connId }) }));
    expect(judge(new FinAckMonitor(CONTEXT), [...opened, sent(5, clientFin), wrong(ACK)])).toBeNull();
    expect(judge(new FinAckMonitor(CONTEXT), [...took, wrong(RST | ACK)])).toBeNull();
    expect(judge(new FinAckMonitor(CONTEXT), [...took, wrong(FIN)])).toBeNull();
    expect(judge(new FinAckMonitor(CONTEXT), [...took, wrong(ACK, -1)])).toBeNull();
    expect(judge(new FinAckMonitor(CONTEXT), [...opened, state(6, server, 'ESTABLISHED', 'CLOSE-WAIT'), wrong(ACK)])).toBeNull();
    // A FIN from some other connection is not the peer's.
    const stranger = conn(7, 'a', 40001, 80);
    expect(judge(new FinAckMonitor(CONTEXT), [...opened, state(0, stranger, 'SYN-SENT', 'ESTABLISHED'), sent(5, seg(stranger, { seq: 100, ack: 1, flags: FIN | ACK })), state(6, server, 'ESTABLISHED', 'CLOSE-WAIT'), wrong(ACK)])).toBeNull();
  });

  it('C4: a retransmitted FIN moves where the FIN is only if it moved (the last FIN sent counts)', () => {
    const again = seg(client, { seq: 0xffff_fff5, ack: 1, flags: FIN | ACK, bytes: 9 });
    expect(judge(new FinAckMonitor(CONTEXT), [...took, sent(7, again), sent(8, seg(server, { seq: 1, ack: 0xffff_ffff, flags: ACK }))])).toBeNull();
  });
});

describe('seq-space (RFC 9293 §3.3.1, modulo 2^32)', () => {
  const syn = (s: number, c = client) => sent(0, seg(c, { seq: s, flags: SYN }));

  it('a retransmitted SYN keeps its ISN; a SYN with another ISN is reported on the connection', () => {
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...opened, syn(0xffff_ffff), syn(0xffff_ffff)])).toBeNull();
    expect(verdict(new SeqSpaceMonitor(CONTEXT), [...opened, syn(0xffff_ffff), syn(0)])).toEqual({ message: 'SYN retransmitted with seq 0, first SYN had 4294967295', connId: 1, eventIndex: 3 });
  });

  it('a segment may start at or below SND.NXT (across the wrap), never beyond it; a bare ACK beyond is no data', () => {
    const data = (s: number, bytes: number) => sent(1, seg(client, { seq: s, flags: ACK, bytes }));
    const base = [...opened, syn(0xffff_fff0), data(0xffff_fff1, 20)]; // SND.NXT 5 after the wrap
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, data(5, 10), data(0, 3)])).toBeNull();
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, data(6, 10)])).toBe('segment starts at 6, beyond SND.NXT 5: sequence space skipped');
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, data(6, 0)])).toBeNull();
    // SND.NXT only grows: a retransmission below it does not pull it back.
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, data(0xffff_fff1, 2), data(5, 1)])).toBeNull();
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, data(0xffff_fff1, 2), data(6, 1)])).toBe('segment starts at 6, beyond SND.NXT 5: sequence space skipped');
  });

  it('nothing acknowledges beyond what the peer sent, or more than 2^31 behind it', () => {
    const serverSent = [...opened, sent(0, seg(server, { seq: 0xffff_fff0, ack: 1, flags: SYN | ACK })), sent(1, seg(server, { seq: 0xffff_fff1, ack: 1, flags: ACK, bytes: 20 }))]; // the server's end: 5
    const ack = (a: number) => sent(2, seg(client, { seq: 1, ack: a, flags: ACK }));
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...serverSent, ack(5)])).toBeNull();
    expect(verdict(new SeqSpaceMonitor(CONTEXT), [...serverSent, ack(6)])).toEqual({ message: 'ACK 6 acknowledges beyond what the peer sent (5)', connId: 1, eventIndex: 4 });
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...serverSent, ack((5 - 0x7fff_ffff) >>> 0)])).toBeNull();
    // 2^31 behind is half the space away: no longer a past ACK, and not a future one.
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...serverSent, ack((5 - 0x8000_0000) >>> 0)])).toBe("ACK 2147483653 is more than 2^31 behind the peer's 5");
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...serverSent, ack((5 - 0x8000_0001) >>> 0)])).toBe('ACK 2147483652 acknowledges beyond what the peer sent (5)');
    // Without ACK, before the peer sent anything, or without a connection: no judgement.
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...serverSent, sent(2, seg(client, { seq: 1, ack: 6, flags: 0 }))])).toBeNull();
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...opened, ack(6)])).toBeNull();
    // Nor is an ACK in the upper half of the space, with nothing of the peer's to compare it to.
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...opened, ack(0x8000_0005)])).toBeNull();
  });

  it('resets and host segments are outside the space: their seq comes from the segment they answer', () => {
    const base = [...opened, syn(100), sent(1, seg(client, { seq: 101, flags: ACK, bytes: 1 }))];
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, sent(2, seg(client, { seq: 9000, flags: RST }))])).toBeNull();
    expect(judge(new SeqSpaceMonitor(CONTEXT), [...base, sent(2, seg(client, { seq: 9000, flags: ACK, bytes: 1, connId: -1 }))])).toBeNull();
    // A segment of a connection no state change named still counts toward its own space.
    const unnamed = conn(9, 'a', 40009, 80);
    expect(judge(new SeqSpaceMonitor(CONTEXT), [sent(0, seg(unnamed, { seq: 10, flags: ACK, bytes: 1 })), sent(1, seg(unnamed, { seq: 12, flags: ACK, bytes: 1 }))])).toBe('segment starts at 12, beyond SND.NXT 11: sequence space skipped');
  });
});
