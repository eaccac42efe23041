import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { makeTar, ociLayout } from '../helpers/image-writer.js';
import { cacheDir, shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// The HTML report as a person uses it: a real Alpine 3.7.3 root filesystem as the base layer and
// Python packages installed on top, scanned against the real Alpine and PyPI advisories, opened
// in headless Chromium, filtered and sorted. The screenshot lands in .cache/test/screenshots.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let tmp: string;
let html: string;
let file: string;
let result: {
  summary: { bySeverity: Record<string, number>; fixable: number; total: number; grade: string };
  findings: Array<{
    id: string;
    severity: { level: string };
    package: { name: string; layer?: { index: number } };
  }>;
};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-html-'));
  const env = { CUSTOMS_DB: join(tmp, 'customs.db') };
  const imp = customs(
    ['db', 'import', shared('advisories/alpine-secdb'), shared('advisories/pypi-osv'), shared('kev'), '-q'],
    { env },
  );
  assert.equal(imp.status, 0, imp.stderr);
  const site = 'usr/lib/python3.6/site-packages';
  const dist = (name: string, version: string) => ({
    name: `${site}/${name}-${version}.dist-info/METADATA`,
    content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
  });
  const dir = join(tmp, 'image');
  ociLayout(dir, {
    layers: [
      gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz'))),
      await makeTar([dist('requests', '2.19.0'), dist('urllib3', '1.24.1'), dist('jinja2', '2.10')]),
    ],
    createdBy: ['ADD alpine-minirootfs-3.7.3-x86_64.tar.gz /', 'RUN pip install requests urllib3 jinja2'],
  });
  file = join(tmp, 'report.html');
  const json = join(tmp, 'report.json');
  const r = customs(['image', `oci:${dir}`, '--output', `html=${file}`, '--output', `json=${json}`], { env });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  html = readFileSync(file, 'utf8');
  result = JSON.parse(readFileSync(json, 'utf8'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('the HTML report', () => {
  it('is one file: nothing is loaded from elsewhere', () => {
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<link\b|<script[^>]*\bsrc=|<img\b|<iframe\b|@import|url\(/i);
    // The only addresses are links a reader may follow to an advisory.
    for (const m of html.matchAll(/\b(?:src|href)="([^"]+)"/g))
      assert.match(m[1], /^https:\/\/osv\.dev\/vulnerability\//);
  });

  it('has the grade, the counts, the fix plan, and the findings under base image and application', () => {
    assert.ok(result.findings.length >= 10, 'the image has findings in both parts');
    assert.match(html, new RegExp(`<span class="grade ${result.summary.grade}"`));
    assert.match(html, /Base image \(layer 1\) · 2 packages/);
    assert.match(html, /Application layers · 3 packages/);
    assert.match(
      html,
      /<td>urllib3<\/td><td>1\.24\.1 → <b>1\.26\.18<\/b><\/td>/,
      'the upgrade fixing all seven',
    );
    assert.match(html, /musl<\/td><td>1\.1\.18-r3 → <b>1\.1\.18-r4<\/b><\/td>.*base image/);
    // Each finding says why it ranks where it does.
    assert.match(html, /why \d+: severity [A-Z]+/);
  });

  it('in Chromium: filters by severity, part of the image, text and fixability, and sorts', async (t) => {
    if (!hasChromium()) return t.skip('Chromium is not installed (.ci/run installs it)');
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${file}`);
      const shown = async () => Number(await page.textContent('#shown'));
      const visible = (sel: string) => page.locator(`${sel}:visible`).count();
      assert.equal(await shown(), result.findings.length);
      assert.equal(await visible('tr.finding'), result.findings.length);
      await page.screenshot({ path: join(cacheDir('screenshots'), 'html-report.png'), fullPage: true });

      // High and up: the one HIGH (there is no CRITICAL here).
      await page.selectOption('select[name=sev]', '4');
      const high = result.summary.bySeverity.CRITICAL + result.summary.bySeverity.HIGH;
      assert.equal(await shown(), high);
      assert.equal(await visible('tr.finding'), high);
      assert.equal(await visible('details.pkg'), 1, 'packages with nothing left are hidden');
      assert.equal(await visible('section.group[data-layer="base"]'), 0, 'so is a part with nothing left');
      await page.selectOption('select[name=sev]', '0');

      // The application's findings only.
      await page.selectOption('select[name=layer]', 'app');
      const app = result.findings.filter((f) => (f.package.layer?.index ?? 0) >= 1).length;
      assert.equal(await shown(), app);
      await page.selectOption('select[name=layer]', 'all');

      // Text: a package name.
      await page.fill('input[name=q]', 'jinja2');
      assert.equal(await shown(), result.findings.filter((f) => f.package.name === 'jinja2').length);
      await page.fill('input[name=q]', '');
      await page.check('input[name=fix]');
      assert.equal(await shown(), result.summary.fixable);
      await page.uncheck('input[name=fix]');

      // Sorted by name: packages alphabetically within each part.
      await page.selectOption('select[name=sort]', 'name');
      const names = await page.$$eval('section.group[data-layer="app"] details.pkg', (els) =>
        els.map((e) => e.getAttribute('data-name')),
      );
      assert.deepEqual(names, ['jinja2', 'requests', 'urllib3']);
      await page.selectOption('select[name=sort]', 'risk');
      const risks = await page.$$eval('section.group[data-layer="app"] details.pkg', (els) =>
        els.map((e) => Number(e.getAttribute('data-risk'))),
      );
      assert.deepEqual(
        risks,
        [...risks].sort((a, b) => b - a),
      );

      // Collapse hides the tables, the counts stay.
      await page.click('#collapse');
      assert.equal(await visible('tr.finding'), 0);
      assert.equal(await shown(), result.findings.length);

      await page.addScriptTag({ path: AXE });
      const violations = await page.evaluate(async () => {
        const g = globalThis as any; // eslint-disable-line @typescript-eslint/no-explicit-any
        const r = await g.axe.run(g.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
        return r.violations
          .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
          .map((v: { id: string }) => v.id);
      });
      assert.deepEqual(violations, [], 'no serious accessibility problem');
    } finally {
      await browser?.close();
    }
  });
});
