import { describe, expect, it } from 'vitest';
import { histogramSvg, PALETTE, scatterSvg, stackedBarsSvg } from './plots.js';

const groups = [
  { name: 'a', color: PALETTE[0]! },
  { name: 'b <&>', color: PALETTE[1]! },
];
const frame = { title: 'T', xLabel: 'x', yLabel: 'y' };

function titles(svg: string): string[] {
  return [...svg.matchAll(/<rect class="bar"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]!);
}

describe('stackedBarsSvg', () => {
  it('stacks each category by group and prints its total', () => {
    // Act
    const svg = stackedBarsSvg({ ...frame, id: 'p', categories: ['x', 'y'], groups, values: [[2, 0], [3, 1]] });
    // Assert
    expect(titles(svg)).toEqual(['x, a: 2', 'x, b &lt;&amp;&gt;: 3', 'y, b &lt;&amp;&gt;: 1']);
    expect([...svg.matchAll(/<text class="total"[^>]*>(\d+)<\/text>/g)].map((m) => m[1])).toEqual(['5', '1']);
  });
});

describe('histogramSvg', () => {
  it('takes a campaign\'s worth of values (more than a call has arguments)', () => {
    // Arrange: 300,000 connections, as a 45,000-run campaign has.
    const values = Array.from({ length: 300_000 }, (_, i) => ({ value: i % 50, group: 0 }));
    // Act
    const svg = histogramSvg({ ...frame, id: 'h', groups, integer: true, unit: 'segments', values });
    // Assert
    expect(titles(svg).reduce((sum, t) => sum + Number(t.split(': ')[1]), 0)).toBe(300_000);
  });

  it('bins whole numbers one by one when the range is small', () => {
    // Act
    const svg = histogramSvg({ ...frame, id: 'h', groups, integer: true, unit: 'segments', values: [3, 3, 4, 7].map((value) => ({ value, group: 0 })) });
    // Assert
    expect(titles(svg)).toEqual(['3 segments, a: 2', '4 segments, a: 1', '7 segments, a: 1']);
  });

  it('copes with every value the same, and with the largest value on the last bound', () => {
    // Act
    const same = histogramSvg({ ...frame, id: 'h', groups, unit: 's', values: [4, 4, 4].map((value) => ({ value, group: 1 })), references: [{ x: 4, label: '2·MSL = 4 s' }] });
    // Assert: all three in one bin, and the reference line drawn.
    expect(titles(same)).toHaveLength(1);
    expect(titles(same)[0]).toMatch(/: 3$/);
    expect(same).toContain('2·MSL = 4 s');
  });

  it('says so when there is nothing to plot', () => {
    expect(histogramSvg({ ...frame, id: 'h', groups, values: [] })).toContain('class="no-data"');
  });
});

describe('scatterSvg', () => {
  it('merges points that fall on the same spot into one bigger circle', () => {
    // Act
    const svg = scatterSvg({ ...frame, id: 's', groups, xDecimals: 1, points: [{ x: 0.01, y: 0, group: 0 }, { x: 0.04, y: 0, group: 0 }, { x: 0, y: 0, group: 1 }, { x: 5, y: 2, group: 0 }] });
    // Assert
    const tips = [...svg.matchAll(/<circle class="point"[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(tips).toEqual(['a: 2 runs at 0, 0', 'b &lt;&amp;&gt;: 1 run at 0, 0', 'a: 1 run at 5, 2']);
  });

  it('is a pure function of its input', () => {
    const input = { ...frame, id: 's', groups, points: [{ x: 1.25, y: 3, group: 0 }] };
    expect(scatterSvg(input)).toBe(scatterSvg(input));
  });
});
