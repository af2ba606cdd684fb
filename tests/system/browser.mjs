// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core:
// the browser checks of tests/system/run. Never downloads a browser.
//
// usage: node browser.mjs llm URL      the llm_stream page: tokens arrive
//                                        through EventSource, the answer grows
//                                        over time, then `done` appears
//        node browser.mjs llm-ws URL   the same page in WebSocket mode
//                                        (URL ending in /?mode=ws): tokens
//                                        arrive, Stop stops them, the socket
//                                        closes with 1000 `stopped`
//        node browser.mjs static URL   the api's /static/ page: fetch('/json')
//                                        is shown, 20 /events ticks arrive,
//                                        and two fetch('/visits') calls show
//                                        a count that rises by one (the signed
//                                        cookie goes round the browser)
//
// Prints one JSON line `BROWSER {...}` with what was seen; exit 0 when every
// check held, 1 when one failed (the line says which), 2 on a setup error.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, url] = process.argv.slice(2);
if (!['llm', 'llm-ws', 'static'].includes(mode) || !url) {
  console.error('usage: node browser.mjs llm|llm-ws|static URL');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// The whole check is bounded: a hung browser must not hang CI.
const budget = setTimeout(() => { report({ ok: false, failures: ['overall 60 s budget spent'] }); process.exit(1); }, 60_000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = { mode, url, failures: [] };
function report(extra) {
  Object.assign(out, extra);
  out.ok = out.failures.length === 0;
  console.log('BROWSER ' + JSON.stringify(out));
}

const profile = mkdtempSync(join(tmpdir(), 'sutegi-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: 30_000,
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15_000 });
  out.status = response ? response.status() : null;
  if (out.status !== 200) out.failures.push(`GET ${url} answered ${out.status}, not 200`);

  // A page that is not there has nothing to watch: say so at once.
  if (out.status === 200) {
    if (mode === 'llm') await checkLlm(page);
    else if (mode === 'llm-ws') await checkLlmWebSocket(page);
    else await checkStatic(page);
  }
  out.console = consoleLines.slice(0, 20);
} catch (e) {
  out.failures.push(`exception: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
clearTimeout(budget);
report({});
process.exit(out.ok ? 0 : 1);

// The answer text grows over time (tokens arrive one by one, not all at the
// end), and the status ends as `done (N characters)`.
async function checkLlm(page) {
  const samples = []; // [ms since start, answer length]
  const t0 = Date.now();
  let status = '';
  for (let i = 0; i < 300 && Date.now() - t0 < 30_000; i++) {
    const [len, st] = await page.evaluate(() => [
      document.getElementById('answer').textContent.length,
      document.getElementById('status').textContent,
    ]);
    status = st;
    if (samples.length === 0 || samples[samples.length - 1][1] !== len) samples.push([Date.now() - t0, len]);
    if (st.startsWith('done')) break;
    await sleep(50);
  }
  const finalText = await page.evaluate(() => document.getElementById('answer').textContent);
  const distinct = samples.filter(([, len]) => len > 0);
  out.llm = {
    status,
    final_length: finalText.length,
    distinct_lengths_seen: distinct.length,
    first_text_ms: distinct.length ? distinct[0][0] : null,
    last_growth_ms: distinct.length ? distinct[distinct.length - 1][0] : null,
    samples: samples.slice(0, 8).concat(samples.length > 8 ? [['…'], samples[samples.length - 1]] : []),
    text_start: finalText.slice(0, 60),
  };
  if (!status.startsWith('done')) out.failures.push(`status never became "done" (last: ${JSON.stringify(status)})`);
  if (!/^done \(\d+ characters\)$/.test(status)) out.failures.push(`status ${JSON.stringify(status)} is not "done (N characters)"`);
  if (finalText.length < 100) out.failures.push(`answer only ${finalText.length} characters long`);
  // Growth over time: many intermediate lengths, spread over at least a second.
  if (distinct.length < 10) out.failures.push(`answer grew in only ${distinct.length} steps: tokens did not stream`);
  else if (out.llm.last_growth_ms - out.llm.first_text_ms < 1000)
    out.failures.push(`all text arrived within ${out.llm.last_growth_ms - out.llm.first_text_ms} ms: buffered, not streamed`);
  const wanted = /Sunlight is a mix of every colour/;
  if (!wanted.test(finalText)) out.failures.push(`answer text unexpected: ${JSON.stringify(finalText.slice(0, 80))}`);
}

// WebSocket mode: tokens arrive over the socket, the Stop button sends
// `stop`, the text stops growing and the socket closes with 1000.
async function checkLlmWebSocket(page) {
  const answerLength = () => page.evaluate(() => document.getElementById('answer').textContent.length);
  const t0 = Date.now();
  let before = 0;
  while (Date.now() - t0 < 15_000 && (before = await answerLength()) < 40) await sleep(25);
  await page.click('#stop');
  const clicked = await answerLength();
  let status = '';
  for (let i = 0; i < 100; i++) {
    status = await page.evaluate(() => document.getElementById('status').textContent);
    if (status.startsWith('stopped')) break;
    await sleep(20);
  }
  const atClose = await answerLength();
  await sleep(500);
  const later = await answerLength();
  out.llm_ws = { before_stop: before, at_click: clicked, at_close: atClose, later, status };
  if (before < 40) out.failures.push(`only ${before} characters arrived over the WebSocket in 15 s`);
  if (!/^stopped \(\d+ characters, close 1000\)$/.test(status)) out.failures.push(`status ${JSON.stringify(status)} is not "stopped (N characters, close 1000)"`);
  if (later !== atClose) out.failures.push(`text grew after the close: ${atClose} → ${later}`);
  // The canned answer is ~480 characters; a stop after ~40 must cut it short.
  if (later > clicked + 40) out.failures.push(`${later - clicked} characters arrived after Stop`);
}

// fetch('/json') is shown, and 20 EventSource ticks arrive, spread over time.
async function checkStatic(page) {
  const t0 = Date.now();
  const seen = []; // [ms, count]
  let state;
  for (let i = 0; i < 300 && Date.now() - t0 < 30_000; i++) {
    state = await page.evaluate(() => ({
      json: document.getElementById('json')?.textContent ?? null,
      status: document.getElementById('status')?.textContent ?? null,
      items: [...document.querySelectorAll('#events li')].map((li) => li.textContent),
      visits: document.getElementById('visits')?.textContent ?? null,
    }));
    if (seen.length === 0 || seen[seen.length - 1][1] !== state.items.length) seen.push([Date.now() - t0, state.items.length]);
    if (state.items.length >= 20 && state.json !== 'loading…' && state.visits !== 'counting…') break;
    await sleep(50);
  }
  out.static = {
    json: state.json,
    status: state.status,
    ticks: state.items.length,
    first_ticks: state.items.slice(0, 3),
    last_tick: state.items[state.items.length - 1] ?? null,
    growth_steps: seen.length,
    first_tick_ms: seen.find(([, n]) => n > 0)?.[0] ?? null,
    last_tick_ms: seen[seen.length - 1][0],
    visits: state.visits,
  };
  if (state.json !== '{"message":"Hello, World!"}') out.failures.push(`#json shows ${JSON.stringify(state.json)}, not the /json body`);
  if (state.items.length !== 20) out.failures.push(`${state.items.length} ticks shown, not 20`);
  const expected = Array.from({ length: 20 }, (_, i) => `tick ${i} (id ${i})`);
  if (state.items.length === 20 && state.items.some((t, i) => t !== expected[i]))
    out.failures.push(`ticks out of order or malformed: ${JSON.stringify(state.items)}`);
  if (state.status !== 'all 20 events arrived') out.failures.push(`status ${JSON.stringify(state.status)}`);
  // The second /visits call carries the cookie the first one set.
  const counts = /^first (\d+), then (\d+)$/.exec(state.visits ?? '');
  if (!counts) out.failures.push(`#visits shows ${JSON.stringify(state.visits)}, not "first N, then M"`);
  else if (Number(counts[2]) !== Number(counts[1]) + 1)
    out.failures.push(`/visits counted ${counts[1]} then ${counts[2]}: the cookie did not come back`);
  // 20 events 200 ms apart take ~3.8 s: they must not all land at once.
  if (seen.length < 5) out.failures.push(`ticks appeared in only ${seen.length} steps: buffered, not streamed`);
}
