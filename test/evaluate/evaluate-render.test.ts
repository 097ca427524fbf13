// Issue 7, must-show 3: the evaluation report renders in headless Chromium without console errors
// and without any network request (it must open offline). Chromium comes from Debian's package: it
// is installed here only when absent and apt can run (root or CI); otherwise the test skips.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { evaluateReport } from '../../lib/evaluate';
import { DATA } from '../support/data';
import { writeSubset } from '../support/evaluate-data';
import { tempDir } from '../support/helpers';
import { hasSharedData, sharedData } from '../support/python';

const CHROMIUM = '/usr/bin/chromium';
const dir = tempDir('tcbm-render-');

function ensureChromium(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!(root || process.env.CI === 'true') || !apt) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'ignore', env, timeout: 600000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env, timeout: 300000 });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'ignore', env, timeout: 600000 });
  }
  return r.status === 0 && fs.existsSync(CHROMIUM);
}

const available = ensureChromium();
if (!available) console.log(`skipping the report rendering test: ${CHROMIUM} is missing and apt-get cannot install it here`);
const maybe = available ? test : test.skip;

maybe(
  'the report renders in headless Chromium: every plot drawn (the latent space\'s too), no console error, no network request',
  async () => {
    // ADP test (reference) vs train when the shared data are there, else the bundled sample vs a noisy copy.
    const shared = hasSharedData && fs.existsSync(sharedData('adp', 'train.dcd'));
    const adp = shared ? sharedData('adp') : path.join(DATA, 'adp');
    let ref = path.join(adp, shared ? 'test.dcd' : 'test-1000.dcd');
    let traj = path.join(adp, 'train.dcd');
    if (!shared) {
      traj = path.join(dir, 'noisy.dcd');
      await writeSubset(ref, traj, { noise: 0.01 });
    }
    const out = path.join(dir, 'report');
    // Five bootstrap samples keep the run short; the page has the same plots as with the default 20. The shipped ADP
    // model adds the latent-space section (1,000 encoded pairs draw the same plots as the default 5,000).
    const model = path.resolve(__dirname, '../../models/adp-cpu.tcbm');
    const { files } = await evaluateReport({ top: path.join(adp, 'adp.pdb'), system: path.join(adp, 'system-vacuum.xml'), ref, traj, out, map: 'auto', bootstrap: 5, model, latentPairs: 1000 });

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 3000 } });
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => !r.url().startsWith('file:') && problems.push(`network request: ${r.url()}`));
      await page.goto(`file://${files.html}`, { waitUntil: 'load' });
      // Every inline SVG plot has a visible size.
      const sizes = await page.$$eval('svg.marks', (svgs) => svgs.map((s) => s.getBoundingClientRect()).map((r) => [r.width, r.height]));
      expect(sizes.length).toBeGreaterThanOrEqual(15);
      for (const [w, h] of sizes) expect(w > 100 && h > 100).toBe(true);
      // The latent space: PCA axes with their variance fractions, an energy colour bar, the mixture's ellipses and means, the KL bars.
      const latent = await page.$$eval('svg.marks', (svgs) =>
        svgs
          .filter((s) => [...s.querySelectorAll('.role-axis-title text, text.role-axis-title, .role-axis-title')].some((t) => (t.textContent ?? '').startsWith('PC 1')))
          .map((s) => {
            const texts = (sel: string) => [...s.querySelectorAll(sel)].map((t) => t.textContent ?? '');
            const box = (sel: string) => [...s.querySelectorAll(sel)].map((e) => e.getBoundingClientRect()).map((r) => [r.width, r.height]);
            return {
              axes: texts('.role-axis-title'),
              legendTitles: texts('.role-legend-title'),
              gradients: box('.role-legend-gradient path, .role-legend-gradient rect'),
              ellipses: box('.ellipses_marks path'),
              means: s.querySelectorAll('.mixtureMeans_marks path').length,
              points: s.querySelectorAll('.posteriors_marks path').length,
            };
          }),
      );
      expect(latent.length).toBeGreaterThanOrEqual(1);
      const plane = latent[0];
      expect(plane.axes.some((t) => /^PC 1 \(\d+(\.\d)? %\)$/.test(t))).toBe(true);
      expect(plane.axes.some((t) => /^PC 2 \(\d+(\.\d)? %\)$/.test(t))).toBe(true);
      expect(plane.legendTitles).toContain('reference energy (kJ/mol)');
      expect(plane.gradients.some(([w, h]) => w > 5 && h > 100)).toBe(true);
      expect(plane.ellipses).toHaveLength(10); // one 2σ ellipse per mixture component
      for (const [w, h] of plane.ellipses) expect(w > 5 && h > 5).toBe(true);
      expect(plane.means).toBe(10);
      expect(plane.points).toBe(1000);
      const kl = await page.$$eval('svg.marks', (svgs) => svgs.filter((s) => (s.textContent ?? '').includes('KL per latent dimension')).map((s) => s.querySelectorAll('.role-mark path, .role-mark rect').length));
      expect(kl).toHaveLength(1);
      expect(kl[0]).toBeGreaterThanOrEqual(16);
      const latentPng = path.join(shared ? os.tmpdir() : dir, 'tcbackmap-report-latent.png');
      await page.locator('div.plots').last().screenshot({ path: latentPng }); // the latent section comes last
      console.log(`latent-space screenshot: ${latentPng}`);
      const png = path.join(shared ? os.tmpdir() : dir, shared ? 'tcbackmap-report-adp-test-vs-train.png' : 'report.png');
      await page.screenshot({ path: png, fullPage: true });
      const bytes = fs.statSync(png).size;
      expect(bytes).toBeGreaterThan(50_000);
      console.log(`report screenshot: ${png} (${(bytes / 1024).toFixed(0)} KiB, ${sizes.length} plots)`);
    } finally {
      await browser.close();
    }
    expect(problems).toEqual([]);
  },
  900_000,
);
