/**
 * The HTML report as a person sees it: Debian's Chromium, headless, driven by playwright-core
 * (never a downloaded browser), opens a real campaign's report from disk and checks that every
 * figure renders with no console error and no request for anything outside the file; the
 * screenshot goes to reports/report-screenshot.png.
 *
 * Skipped, saying why, where /usr/bin/chromium is missing (`.ci/run` installs it when it can);
 * TIMEWAIT_REQUIRE_CHROMIUM=1 makes that a failure.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from './campaign-report.js';
import { exampleReportData } from './example-report.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  const reason = `${CHROMIUM} not found: skipping the browser test of the HTML report (apt-get install chromium to run it)`;
  if (process.env.TIMEWAIT_REQUIRE_CHROMIUM === '1') throw new Error(reason);
  console.warn(reason);
}

const SCREENSHOT = resolve('reports/report-screenshot.png');
const PLOT_IDS: readonly string[] = ['plot-close-kinds', 'plot-time-wait', 'plot-retransmissions', 'plot-segments', 'plot-state-diagram'];

describe.skipIf(!present)('HTML report in headless Chromium', () => {
  let workDir = '';
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'timewait-report-'));
    // A fresh profile in a temporary directory (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(join(workDir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('renders the ladder, the plots and the state diagram of a mutant counterexample with no console error', async () => {
    // Arrange: a small real campaign plus the shrunk no-time-wait counterexample, written as CI would.
    const file = writeHtmlReport(join(workDir, 'report'), exampleReportData());
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) problems.push(`request: ${request.url()}`);
    });

    // Act
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Bounding boxes through locators (no DOM types needed here).
    const box = (selector: string) => page.locator(selector).first().boundingBox();
    const plots: { id: string; box: Awaited<ReturnType<typeof box>> }[] = [];
    for (const id of PLOT_IDS) plots.push({ id, box: await box(`#${id}`) });
    const boxes = {
      plots,
      ladders: await page.locator('svg.ladder').count(),
      ladder: await box('svg.ladder'),
      violations: await page.locator('svg.ladder g.violation').count(),
      violation: await box('svg.ladder g.violation'),
      edgeLabels: await page.locator('#plot-state-diagram text.edge-label').count(),
      bars: await page.locator('#plot-close-kinds rect.bar').count(),
      points: await page.locator('#plot-retransmissions circle.point').count(),
      failures: await page.locator('article.failure').count(),
    };
    mkdirSync(resolve('reports'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The first failure's ladder, alone, for a closer look.
    await page.locator('svg.ladder').first().screenshot({ path: resolve('reports/report-ladder.png') });
    await page.close();

    // Assert
    expect(problems).toEqual([]);
    for (const { id, box } of boxes.plots) {
      expect(box, id).not.toBeNull();
      expect(box!.width, id).toBeGreaterThan(100);
      expect(box!.height, id).toBeGreaterThan(100);
    }
    expect(boxes.failures).toBe(1);
    expect(boxes.ladders).toBe(1);
    expect(boxes.ladder!.width).toBeGreaterThan(200);
    expect(boxes.ladder!.height).toBeGreaterThan(200);
    expect(boxes.violations).toBe(1);
    expect(boxes.violation!.width).toBeGreaterThan(0);
    expect(boxes.violation!.height).toBeGreaterThan(0);
    expect(boxes.edgeLabels).toBe(21);
    expect(boxes.bars).toBeGreaterThan(0);
    expect(boxes.points).toBeGreaterThan(0);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
