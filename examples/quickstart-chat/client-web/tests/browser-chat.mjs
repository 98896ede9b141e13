// Drives the built chat page in Debian's Chromium with playwright-core: two pages (each its
// own fresh profile, so its own identity) rename, send a message each and wait to see the
// other's; a rejected empty name shows its error; a screenshot of one page is saved.
//
// Usage: node tests/browser-chat.mjs PAGE_URL OUT_DIR
//   PAGE_URL  the served page, with ?host=<server>&db=<database>
//   OUT_DIR   where the profiles and chat.png go (the calling test's temp dir)
// Prints one line per step; exits 1 with the reason on any failure. Every wait has a
// deadline; nothing sleeps.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [pageUrl, outDir] = process.argv.slice(2);
if (!pageUrl || !outDir) {
  console.error('usage: node tests/browser-chat.mjs PAGE_URL OUT_DIR');
  process.exit(2);
}

const TIMEOUT = 30_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Every browser opened, closed at the end whatever happens. */
const opened = [];

/** Opens the page in a new Chromium with a fresh profile under OUT_DIR, and waits for its subscription. */
async function open(name) {
  const context = await chromium.launchPersistentContext(join(outDir, `profile-${name}`), {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 900, height: 600 },
    timeout: TIMEOUT,
  });
  opened.push(context);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => console.log(`[${name} console] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${name} page error] ${e.message}`));
  await page.goto(pageUrl);
  await page.waitForSelector('body[data-ready="true"]');
  console.log(`${name}: connected and subscribed (${await page.textContent('#status')})`);
  return { context, page };
}

async function setName(page, name) {
  await page.fill('#name', name);
  await page.click('#name-form button');
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.click('#send-form button');
}

/** Waits until the chat shows `text` from `sender`. */
async function seeMessage(page, who, sender, text) {
  await page.locator('#messages li', { hasText: text }).filter({ hasText: `${sender}:` }).first().waitFor();
  console.log(`${who} sees "${sender}: ${text}"`);
}

try {
  const alice = await open('alice');
  await setName(alice.page, '');
  await alice.page.locator('#error', { hasText: 'Names must not be empty' }).waitFor();
  console.log('alice: an empty name is refused with the reducer\'s message');
  await setName(alice.page, 'alice');
  await alice.page.locator('#online li', { hasText: 'alice (you)' }).waitFor();

  const bob = await open('bob');
  await setName(bob.page, 'bob');
  await bob.page.locator('#online li', { hasText: 'bob (you)' }).waitFor();
  await alice.page.locator('#online li', { hasText: 'bob' }).waitFor();
  console.log('alice sees bob online');

  await send(alice.page, 'hello from alice');
  await seeMessage(bob.page, 'bob', 'alice', 'hello from alice');
  await send(bob.page, 'hi alice, bob here');
  await seeMessage(alice.page, 'alice', 'bob', 'hi alice, bob here');
  await seeMessage(alice.page, 'alice', 'alice', 'hello from alice');

  const shot = join(outDir, 'chat.png');
  await alice.page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  console.log('browser chat: ok');
} catch (e) {
  console.error(`browser chat failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  for (const context of opened) await context.close().catch(() => {});
}
