/** The states and edges of RFC 9293 §3.3.2 and Figure 5, read off the figure independently of state.ts's lists. */
import { describe, expect, it } from 'vitest';
import { DIAGRAM_EDGES, EXTRA_EDGES, isSynchronized, LEGAL_EDGES, TCP_STATES, type TcpState } from './state.js';

/** Figure 5, as each state's arrows out of it. */
const FIGURE_5: Record<TcpState, readonly TcpState[]> = {
  CLOSED: ['LISTEN', 'SYN-SENT'],
  LISTEN: ['CLOSED', 'SYN-RECEIVED', 'SYN-SENT'],
  'SYN-SENT': ['SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'],
  'SYN-RECEIVED': ['LISTEN', 'ESTABLISHED', 'FIN-WAIT-1'],
  ESTABLISHED: ['FIN-WAIT-1', 'CLOSE-WAIT'],
  'FIN-WAIT-1': ['FIN-WAIT-2', 'CLOSING'],
  'FIN-WAIT-2': ['TIME-WAIT'],
  'CLOSE-WAIT': ['LAST-ACK'],
  CLOSING: ['TIME-WAIT'],
  'LAST-ACK': ['CLOSED'],
  'TIME-WAIT': ['CLOSED'],
};

describe('RFC 9293 states and edges', () => {
  it('§3.3.2: eleven states, each named once', () => {
    expect([...TCP_STATES].sort()).toEqual(Object.keys(FIGURE_5).sort());
    expect(new Set(TCP_STATES).size).toBe(11);
  });

  it('Figure 5: its 20 arrows, no more', () => {
    const arrows = Object.entries(FIGURE_5).flatMap(([from, tos]) => tos.map((to) => `${from}=>${to}`));
    expect([...DIAGRAM_EDGES].sort()).toEqual(arrows.sort());
  });

  it('the edges the text adds (§3.10.7.4 resets, §3.10.5 ABORT, §3.8.3 R2 give-up, FIN+ACK in FIN-WAIT-1, tcp_fin_timeout): none in the figure, each a reset or a FIN that acks ours', () => {
    const inFigure = new Set<string>(DIAGRAM_EDGES);
    for (const edge of EXTRA_EDGES) expect(inFigure.has(edge), edge).toBe(false);
    // Every synchronized state and SYN-RECEIVED can be reset to CLOSED, except where the figure has the edge already.
    const toClosed = EXTRA_EDGES.filter((e) => e.endsWith('=>CLOSED')).map((e) => e.split('=>')[0]);
    expect(toClosed.sort()).toEqual(['CLOSE-WAIT', 'CLOSING', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'SYN-RECEIVED']);
    expect(EXTRA_EDGES.filter((e) => !e.endsWith('=>CLOSED')).sort()).toEqual(['FIN-WAIT-1=>TIME-WAIT', 'SYN-RECEIVED=>CLOSE-WAIT']);
    expect(LEGAL_EDGES.size).toBe(DIAGRAM_EDGES.length + EXTRA_EDGES.length);
    expect(LEGAL_EDGES.has('TIME-WAIT=>CLOSED')).toBe(true);
    expect(LEGAL_EDGES.has('SYN-RECEIVED=>CLOSE-WAIT')).toBe(true);
    expect(LEGAL_EDGES.has('TIME-WAIT=>ESTABLISHED')).toBe(false);
  });

  it('§3.5.2: synchronized are the states from ESTABLISHED on; CLOSED, LISTEN, SYN-SENT and SYN-RECEIVED are not', () => {
    const synchronized = TCP_STATES.filter(isSynchronized);
    expect(synchronized).toEqual(['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT']);
  });
});
