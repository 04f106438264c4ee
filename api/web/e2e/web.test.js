// Browser tests of Moisson's web interface. They start the all-in-one
// (go run ./cmd/moisson) on a free port with a fresh data directory, wait
// until it is searchable, and drive headless Chromium (Debian's
// /usr/bin/chromium, or $CHROMIUM) with playwright-core. Screenshots go to
// ci-artifacts/screenshots/ at the repository root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const shots = join(root, 'ci-artifacts', 'screenshots');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

let app, base, dataDir, userDataDir, browser, logs = '';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

async function getJSON(path) {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// waitSearchable waits until every source has finished a run and the index
// holds what they published, unchanged over two polls.
async function waitSearchable(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = -1, why = 'not started';
  while (Date.now() < deadline) {
    if (app.exitCode !== null) throw new Error(`the all-in-one exited (${app.exitCode}):\n${logs.slice(-4000)}`);
    try {
      const { sources } = await getJSON('/v1/sources');
      const { total } = await getJSON('/v1/datasets?size=1');
      const busy = sources.filter(s => !s.disabled && (s.status === 'NEVER' || s.status === 'RUNNING'));
      why = `${sources.length} sources, ${busy.length} not yet harvested, ${total} datasets`;
      if (sources.length > 0 && busy.length === 0 && total > 0 && total === last) return total;
      last = total;
    } catch (e) { why = String(e); }
    await new Promise(r => setTimeout(r, 1000));
  }
  throw new Error(`not searchable after ${timeoutMs / 1000}s: ${why}\n${logs.slice(-4000)}`);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(shots, name), fullPage });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'moisson-e2e-'));
  userDataDir = mkdtempSync(join(tmpdir(), 'moisson-chromium-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  app = spawn('go', ['run', './cmd/moisson', '-addr', `127.0.0.1:${port}`, '-data', dataDir, '-sim-datasets', '20'],
    { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = d => { logs = (logs + d).slice(-20000); };
  app.stdout.on('data', keep);
  app.stderr.on('data', keep);
  await waitSearchable(5 * 60 * 1000);
  // Playwright refuses --user-data-dir in args: it always starts Chromium
  // with a fresh profile of its own (--user-data-dir=<new directory under
  // os.tmpdir()>). TMPDIR puts that directory inside ours, removed after.
  const prevTmp = process.env.TMPDIR;
  process.env.TMPDIR = userDataDir;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } finally {
    if (prevTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = prevTmp;
  }
});

after(async () => {
  if (browser) await browser.close();
  if (app && app.exitCode === null) {
    // go run and the program it built share the process group.
    try { process.kill(-app.pid, 'SIGINT'); } catch { /* already gone */ }
    await new Promise(r => { const t = setTimeout(() => { try { process.kill(-app.pid, 'SIGKILL'); } catch { } r(); }, 15000); app.on('exit', () => { clearTimeout(t); r(); }); });
  }
  for (const d of [dataDir, userDataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 }, ...opts });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', e => problems.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
  return { ctx, page, problems };
}

test('search, facet, dataset page', async () => {
  const { ctx, page, problems } = await newPage();
  await page.goto(base + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await page.getByLabel('Rechercher des jeux de données dans les neuf territoires').fill('délibérations');
  await Promise.all([page.waitForURL(/[?&]q=/), page.getByRole('button', { name: 'Rechercher' }).click()]);
  const heading = await page.locator('#results-title').innerText();
  const total = Number(heading.replace(/\D/g, ''));
  assert.ok(total > 0, `results heading: ${heading}`);
  assert.match(heading, /jeux? de données pour «\s*délibérations\s*»/);
  const items = page.locator('ol.items > li');
  assert.ok(await items.count() > 0);
  const firstTitle = (await items.first().locator('h3').innerText()).toLowerCase();
  assert.match(firstTitle, /d[ée]lib[ée]ration/, 'the best result is about délibérations');
  assert.ok(await items.first().locator('.badge.territory').innerText());
  await shot(page, '01-recherche-deliberations.png');

  // Apply the first territory facet.
  const facet = page.locator('a[data-facet="territory"]').first();
  const territory = (await facet.locator('.label').innerText()).trim();
  const facetCount = Number((await facet.locator('.count').innerText()).replace(/\D/g, ''));
  await Promise.all([page.waitForURL(/territory=/), facet.click()]);
  const heading2 = await page.locator('#results-title').innerText();
  assert.equal(Number(heading2.replace(/\D/g, '')), facetCount, 'the facet count is the number of results');
  await assert.doesNotReject(page.locator('.active .chip', { hasText: `Territoire : ${territory}` }).waitFor());
  const badges = await page.locator('ol.items .badge.territory').allInnerTexts();
  assert.ok(badges.length > 0);
  for (const b of badges) assert.equal(b.trim(), territory);
  assert.equal(await page.locator('a[data-facet="territory"].selected').count(), 1);
  await shot(page, '02-recherche-filtre-territoire.png');

  // The dataset page.
  const link = page.locator('ol.items > li h3 a').first();
  const title = (await link.innerText()).trim();
  await Promise.all([page.waitForURL(/\/jeux-de-donnees\//), link.click()]);
  assert.equal((await page.locator('h1').innerText()).trim(), title);
  await assert.doesNotReject(page.getByRole('link', { name: "Voir sur le portail d'origine" }).waitFor());
  await assert.doesNotReject(page.getByRole('heading', { name: 'Fichiers et accès' }).waitFor());
  await shot(page, '03-fiche-jeu-de-donnees.png');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('search works without JavaScript, and pages on with "Suivant" and the page numbers', async () => {
  const { ctx, page } = await newPage({ javaScriptEnabled: false });
  await page.goto(base + '/');
  await page.fill('#q', 'budget');
  await Promise.all([page.waitForURL(/q=budget/), page.press('#q', 'Enter')]);
  assert.ok(await page.locator('ol.items > li').count() > 0);
  await page.goto(base + '/');
  const first = await page.locator('ol.items > li h3').allInnerTexts();
  assert.equal(first.length, 20);
  await Promise.all([page.waitForURL(/page=2/), page.getByRole('link', { name: /Suivant/ }).click()]);
  const second = await page.locator('ol.items > li h3').allInnerTexts();
  assert.ok(second.length > 0);
  assert.ok(!second.some(t => first.includes(t)) || second.length < first.length, 'page 2 shows other datasets');
  assert.match(await page.locator('.range').innerText(), /Résultats 21 à 40 sur/);
  assert.equal(await page.getByRole('link', { name: /Précédent/ }).count(), 1);
  await Promise.all([page.waitForURL(/page=4/), page.locator('.pager ul.pages a', { hasText: '4' }).click()]);
  assert.match(await page.locator('.range').innerText(), /Résultats 61 à 80 sur/);
  assert.equal(await page.locator('.pager [aria-current="page"]').innerText(), '4');
  await ctx.close();
});

test('search marks the words found, forgives filters, offers all facet values and exports', async () => {
  const { ctx, page, problems } = await newPage();
  await page.goto(base + '/?q=budget');
  const marks = await page.locator('ol.items mark').allInnerTexts();
  assert.ok(marks.length > 0 && marks.every(m => /budget/i.test(m)), `marked words: ${marks.join('|')}`);
  // Export of the current search, as CSV for French Excel.
  const excel = page.getByRole('link', { name: 'CSV pour Excel' });
  const href = await excel.getAttribute('href');
  assert.match(href, /^\/v1\/datasets\/export\?.*dialect=excel-fr/);
  const csv = await fetch(base + href);
  const bytes = Buffer.from(await csv.arrayBuffer());
  assert.ok(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'a UTF-8 BOM');
  assert.ok(bytes.subarray(3).toString('utf8').startsWith('id;title;'), bytes.subarray(0, 40).toString());
  await shot(page, '09-recherche-surlignage-export.png');
  // A territory typed in capitals works; a typo is answered with a hint.
  await page.goto(base + '/?territory=BRETAGNE');
  assert.ok(Number((await page.locator('#results-title').innerText()).replace(/\D/g, '')) > 0);
  await page.goto(base + '/?territory=bretagn');
  await Promise.all([page.waitForURL(/territory=bretagne(&|$)/), page.locator('.alert a', { hasText: 'Bretagne' }).click()]);
  assert.ok(Number((await page.locator('#results-title').innerText()).replace(/\D/g, '')) > 0);
  // A facet with more values than shown says how many more, and lists them all.
  await page.goto(base + '/');
  const more = page.locator('.facet .more a').first();
  if (await more.count() > 0) {
    await Promise.all([page.waitForURL(/facette=/), more.click()]);
    assert.match(await page.locator('#allfacet-title').innerText(), /toutes les valeurs \(\d+\)/);
  }
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('coverage page', async () => {
  const { ctx, page, problems } = await newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(base + '/');
  await Promise.all([page.waitForURL(/\/couverture$/), page.getByRole('link', { name: 'Couverture SCDL' }).click()]);
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Couverture SCDL');
  const table = page.locator('table.heatmap');
  assert.match(await table.locator('caption').innerText(), /par territoire et par élément du SCDL/);
  assert.equal(await table.locator('tbody tr').count(), 9, 'one row per pilot territory');
  const headers = await table.locator('thead th').allInnerTexts();
  assert.ok(headers.includes('Délibérations'), headers.join('|'));
  await assert.doesNotReject(page.locator('.legend', { hasText: 'schéma déclaré' }).waitFor());
  await shot(page, '04-couverture.png');
  const cell = table.locator('td a[href*="schema=scdl%2Fdeliberations"]').first();
  const n = Number((await cell.locator('.n').innerText()).replace(/\D/g, ''));
  assert.ok(n > 0);
  await Promise.all([page.waitForURL(/schema=scdl%2Fdeliberations/), cell.click()]);
  const heading = await page.locator('#results-title').innerText();
  assert.equal(Number(heading.replace(/\D/g, '')), n, 'a cell leads to as many datasets as it says');
  await assert.doesNotReject(page.locator('.active .chip', { hasText: 'Élément du SCDL : Délibérations' }).waitFor());
  // The switch to count datasets rather than records, and back.
  await page.goto(base + '/couverture');
  await Promise.all([page.waitForURL(/distinct=true/), page.getByRole('link', { name: /jeux de données distincts/ }).click()]);
  await assert.doesNotReject(page.getByRole('link', { name: /chaque fiche moissonnée/ }).waitFor());
  assert.equal(await table.locator('tbody tr').count(), 9);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('observatory page: obliged collectivités, plots, table and CSV agree with the API', async () => {
  const { ctx, page, problems } = await newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(base + '/');
  await Promise.all([page.waitForURL(/\/observatoire$/), page.getByRole('link', { name: 'Observatoire' }).click()]);
  assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Observatoire');
  const api = await getJSON('/v1/observatory');
  // The summary: one row per territory, the numbers of the API.
  const rows = page.locator('table.obs-sum tbody tr');
  assert.equal(await rows.count(), api.summaries.length);
  assert.equal(api.summaries.length, 9, 'the nine pilot territories');
  const bzh = api.summaries.find(s => s.territory === 'bretagne');
  assert.ok(bzh.obliged > 200 && bzh.publishing > 0 && bzh.publishing < bzh.obliged, JSON.stringify(bzh));
  const row = rows.filter({ hasText: 'Bretagne' });
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(Number(cells[0].replace(/\D/g, '')), bzh.obliged);
  assert.equal(Number(cells[1].split('\n')[0].replace(/\D/g, '')), bzh.publishing);
  // A plausible rate overall: neither nobody nor everybody.
  assert.ok(api.total.share > 0 && api.total.share < 0.6, `share ${api.total.share}`);
  assert.match(await page.locator('.note').innerText(), /nombre d'agents/);
  // The plots: bars per territory, one line per territory.
  assert.equal(await page.locator('svg.obs-bars rect.publishing').count(), 9);
  assert.equal(await page.locator('svg.obs-lines polyline').first().count(), 1);
  await shot(page, '10-observatoire.png');
  // Filter: Bretagne's obliged that publish nothing; the table agrees with the API.
  await page.selectOption('select[name="territory"]', 'bretagne');
  await page.selectOption('select[name="obliged"]', 'true');
  await page.selectOption('select[name="publishes"]', 'false');
  await Promise.all([page.waitForURL(/publishes=false/), page.getByRole('button', { name: 'Afficher' }).click()]);
  const filtered = await getJSON('/v1/observatory?territory=bretagne&obliged=true&publishes=false');
  assert.equal(filtered.collectivites.length, bzh.obliged - bzh.publishing);
  assert.match(await page.locator('#table-title + form + p').innerText(), new RegExp(String(filtered.collectivites.length).replace(/\B(?=(\d{3})+(?!\d))/g, '\\s?')));
  assert.ok(await page.locator('table.obs-table tbody tr.pub').count() === 0, 'no publishing row among those that do not publish');
  // The CSV link carries the same filters and as many rows.
  const csvHref = await page.getByRole('link', { name: 'CSV', exact: true }).first().getAttribute('href');
  assert.match(csvHref, /territory=bretagne/);
  const csv = await (await fetch(base + csvHref)).text();
  assert.equal(csv.trim().split('\n').length - 1, filtered.collectivites.length);
  // A publishing collectivité leads to its datasets.
  await page.goto(base + '/observatoire?territory=bretagne&publishes=true&sort=-datasets');
  const first = page.locator('table.obs-table tbody tr.pub th a').first();
  const name = await first.innerText();
  const want = api.collectivites.filter(c => c.territory === 'bretagne' && c.publishes).sort((a, b) => b.datasets - a.datasets)[0];
  assert.equal(name, want.name);
  await Promise.all([page.waitForURL(/collectivite=/), first.click()]);
  await assert.doesNotReject(page.locator('.active .chip', { hasText: 'Collectivité : ' + want.name }).waitFor());
  // The unresolved publishers, for admins.
  await page.goto(base + '/observatoire');
  assert.ok(await page.locator('#unres-title ~ div table tbody tr').count() > 0);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('harvest status and a source page', async () => {
  const { ctx, page, problems } = await newPage();
  await page.goto(base + '/');
  await Promise.all([page.waitForURL(/\/moissons$/), page.getByRole('link', { name: 'État des moissons' }).click()]);
  const rows = page.locator('table.status-table tbody tr');
  const n = await rows.count();
  const { sources } = await getJSON('/v1/sources');
  assert.equal(n, sources.length);
  const states = await page.locator('table.status-table tbody .status').allInnerTexts();
  assert.ok(states.some(s => s.includes('Réussie')), states.join('|'));
  await shot(page, '05-etat-des-moissons.png');
  const src = sources.find(s => s.last_run) || sources[0];
  await Promise.all([page.waitForURL(/\/moissons\/.+/), page.getByRole('link', { name: src.source_id, exact: true }).click()]);
  assert.equal((await page.locator('h1').innerText()).trim(), `Source ${src.source_id}`);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Historique des moissons' }).waitFor());
  const runs = page.locator('table.runs tbody tr');
  assert.ok(await runs.count() >= 1);
  const hrefs = await runs.first().locator('td.dl a').evaluateAll(as => as.map(a => a.getAttribute('href')));
  assert.ok(hrefs.some(h => /\/runs\/[^/]+\/errors\?format=csv$/.test(h)), hrefs.join(' '));
  assert.ok(hrefs.some(h => /\/runs\/[^/]+\/changes$/.test(h)), hrefs.join(' '));
  const changes = await fetch(base + hrefs.find(h => h.endsWith('/changes')));
  assert.equal(changes.status, 200);
  assert.match(await changes.text(), /^change,id\n/);
  await shot(page, '06-source.png');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('keyboard, small screens and the French 404', async () => {
  const { ctx, page } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await page.goto(base + '/?q=budget');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.textContent.trim());
  assert.equal(focused, 'Aller au contenu');
  const box = await page.locator('a.skip').boundingBox();
  assert.ok(box && box.x >= 0 && box.y >= 0, 'the skip link shows when focused');
  const outline = await page.locator('a.skip').evaluate(e => getComputedStyle(e).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling on a phone (${overflow}px)`);
  await shot(page, '07-mobile-recherche.png', false);
  const r = await page.goto(base + '/pas-une-page');
  assert.equal(r.status(), 404);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Page introuvable');
  await shot(page, '08-page-introuvable.png', false);
  await ctx.close();
});
