// Browser tests of the web UI: the real vic-webservice (TLS, temporary home) driven by
// Debian's chromium through playwright-core. Exits 0 on success, 1 on failure, 77 (skip)
// when chromium or playwright-core is missing. Screenshots go to $VIC_TEST_OUT/screenshots.
//   node tests/browser/run.mjs          (VIC_BIN_DIR defaults to build-san/bin)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = resolve(process.env.VIC_BIN_DIR || join(ROOT, 'build-san/bin'));
const OUT = resolve(process.env.VIC_TEST_OUT || join(ROOT, 'tests/out'));
const SHOTS = join(OUT, 'screenshots');
const CHROMIUM = process.env.VIC_CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'browser-test-password-1';
const NAME = 'browser-vch-' + process.pid;
const started = Date.now();

function skip(why) {
  console.log('skip: ' + why);
  process.exit(77);
}
if (!existsSync(CHROMIUM)) skip(CHROMIUM + ' not found (apt-get install chromium)');
let chromium, request;
try {
  ({ chromium, request } = await import('playwright-core'));
} catch {
  skip('playwright-core not installed (make deps-test runs npm ci)');
}
if (!existsSync(join(BIN, 'vic-webservice'))) {
  console.error('FAIL: ' + join(BIN, 'vic-webservice') + ' not found; build it with make SAN=1 all');
  process.exit(1);
}

let passed = 0;
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);
function ok(cond, what) {
  if (!cond) throw new Error('assertion failed: ' + what);
  passed++;
  log('ok   ' + what);
}
async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

// ---- the web service ----
const home = mkdtempSync(join(tmpdir(), 'vic-browser-'));
mkdirSync(SHOTS, { recursive: true });
const srv = spawn(join(BIN, 'vic-webservice'), ['--home', home, '--listen', '127.0.0.1:0'], {
  env: { ...process.env, VIC_ADMIN_PASSWORD: PASSWORD, VIC_HOME: home },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let srvOut = '';
let srvErr = '';
srv.stderr.on('data', (d) => { srvErr += d; if (srvErr.length > 200000) srvErr = srvErr.slice(-100000); });
const baseUrl = await new Promise((res, rej) => {
  const t = setTimeout(() => rej(new Error('vic-webservice printed no serving line:\n' + srvOut + srvErr)), 20000);
  srv.stdout.on('data', (d) => {
    srvOut += d;
    const m = srvOut.match(/serving\s+(https?:\/\/[0-9.]+:\d+)\//);
    if (m) { clearTimeout(t); res(m[1]); }
  });
  srv.on('exit', (code) => rej(new Error('vic-webservice exited with ' + code + ':\n' + srvOut + srvErr)));
}).catch((e) => { console.error('FAIL: ' + e.message); rmSync(home, { recursive: true, force: true }); process.exit(1); });
log('web service at ' + baseUrl);

const adminApi = await request.newContext({ baseURL: baseUrl, ignoreHTTPSErrors: true,
  httpCredentials: { username: 'admin', password: PASSWORD, send: 'always' } });

async function cleanup() {
  // Delete every VCH this run made (they run real appliance processes), then stop the service.
  try {
    for (let i = 0; i < 60; i++) {
      const r = await adminApi.get('/container/target/local/vch');
      const vchs = (await r.json()).vchs || [];
      if (!vchs.length) break;
      if (i === 0) log('cleanup: deleting ' + vchs.map((v) => v.name).join(', '));
      for (const v of vchs) {
        await adminApi.delete('/container/target/local/vch/' + encodeURIComponent(v.id), {
          data: { containers: 'all', volume_stores: 'all' } }).catch(() => {});
      }
      await new Promise((r2) => setTimeout(r2, 1000));
    }
  } catch (e) {
    console.error('cleanup: ' + e.message);
  }
  await adminApi.dispose().catch(() => {});
  srv.kill('SIGTERM');
  const exited = await new Promise((res) => {
    if (srv.exitCode !== null) return res(true);
    const t = setTimeout(() => res(false), 15000);
    srv.on('exit', () => { clearTimeout(t); res(true); });
  });
  if (!exited) srv.kill('SIGKILL');
  if (registryDir) {
    spawnSync('bash', [join(ROOT, 'tests/fixtures/registry-busybox.sh'), registryDir, 'stop'],
      { env: registryEnv, timeout: 60000 });
    rmSync(registryDir, { recursive: true, force: true });
  }
  rmSync(home, { recursive: true, force: true });
}

let browser;
let failure = null;
let registryDir = null;
let containerRunning = false;
let registryEnv = null;
const consoleErrors = [];
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));

  // ---- headers of a page ----
  const resp = await page.goto(baseUrl + '/');
  const csp = resp.headers()['content-security-policy'] || '';
  ok(csp.includes("default-src 'self'") && csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline'),
    'pages carry a strict Content-Security-Policy');
  ok(resp.headers()['x-content-type-options'] === 'nosniff', 'pages carry nosniff');

  // ---- login ----
  await page.waitForURL(/\/login\?next=/);
  ok(true, 'an anonymous visit is sent to /login');
  await page.fill('#password', 'wrong password');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error .alert-danger');
  ok(true, 'a wrong password is refused with a message');
  await shot(page, '01-login');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#vch-table .vic-empty');
  ok(await page.isVisible('text=No Virtual Container Host yet'), 'logged in: the empty VCH list shows');
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  ok(/Clarity City/.test(font), 'Clarity styles and the Clarity City font are applied (' + font + ')');
  await shot(page, '02-list-empty');

  // ---- wizard, with a validation error corrected on the way ----
  await page.click('a.nav-link[href="/create"]');
  await page.waitForSelector('#name');
  ok(await page.inputValue('#name') === 'virtual-container-host', 'the wizard proposes the default name');
  await page.fill('#name', NAME);
  await page.selectOption('#debug', '1');
  await shot(page, '03-wizard-general');
  await page.click('#wizard-next'); // compute
  await page.fill('#cpu', '2000');
  await page.click('#wizard-next'); // storage
  ok(await page.inputValue('#image_store') === 'datastore1', 'image datastore defaults to datastore1');
  const vsDs = '.vic-volume-row input[id^="vs-ds-"]';
  const vsLabel = '.vic-volume-row input[id^="vs-label-"]';
  ok(await page.inputValue(vsDs) === 'datastore1/' + NAME + '/volumes/default' && await page.inputValue(vsLabel) === 'default',
    'the storage step shows the default volume store, labelled default, in the VCH\'s folder');
  // removed, the summary asks for none; given again by hand, it is the one the VCH gets
  await page.click('.vic-volume-row button:has-text("Remove")');
  await page.click('#nav-summary');
  ok((await page.textContent('#cmdline')).includes('--no-volume-store'), 'without a volume store the command line says --no-volume-store');
  await page.click('#nav-storage');
  await page.click('#add-volume-store');
  await page.fill(vsDs, 'datastore1/' + NAME + '/volumes/default');
  await page.fill(vsLabel, 'default');
  await page.click('#wizard-next'); // networks
  await page.fill('#bridge_range', '300.16.0.0/99');
  await page.click('#nav-summary');
  const cmd = await page.textContent('#cmdline');
  ok(cmd.includes('--name ' + NAME) && cmd.includes('--bridge-network-range 300.16.0.0/99') &&
    cmd.includes('--cpu 2000') && cmd.includes('--volume-store datastore1/' + NAME + '/volumes/default:default') && !cmd.includes('--no-volume-store') && cmd.includes('--debug 1'),
    'the summary shows the equivalent vic-machine command line');
  await shot(page, '04-wizard-summary');
  await page.click('#wizard-finish');
  await page.waitForSelector('#step-networks:not([hidden]) .vic-problem');
  const problem = await page.textContent('#step-networks .vic-problem');
  ok(/CIDR|range/i.test(problem), 'the bad bridge range is reported beside its field: ' + problem.trim());
  ok(await page.getAttribute('#nav-networks', 'class').then((c) => /has-error/.test(c || '')), 'the Networks step is marked');
  await shot(page, '05-wizard-problem');
  await page.fill('#bridge_range', '');
  await page.click('#nav-summary');
  ok(!(await page.textContent('#cmdline')).includes('300.16'), 'the corrected range leaves the command line');
  await page.click('#wizard-finish');
  await page.waitForSelector('#progress li');
  await page.waitForSelector('#docker-env, #create-status .alert-danger', { timeout: 60000 });
  await shot(page, '06-wizard-progress');
  const status = await page.textContent('#create-status');
  ok(await page.isVisible('#docker-env'), 'the VCH is created (' + status.trim() + ')');
  const steps = await page.$$eval('#progress li', (lis) => lis.map((li) => li.dataset.step + ':' + li.dataset.status));
  ok(steps.includes('docker_api:done') && steps.every((s) => !s.endsWith(':failed')), 'progress went step by step to docker_api: ' + steps.join(' '));
  const env = await page.textContent('#docker-env');
  ok(/DOCKER_HOST=tcp:\/\/127\.[0-9.]+:2376/.test(env) && env.includes('DOCKER_TLS_VERIFY=1') && env.includes('DOCKER_CERT_PATH=' + home + '/vch/' + NAME),
    'the docker env lines are shown');
  const defaultStore = join(home, 'datastore1', NAME, 'volumes', 'default');
  ok(existsSync(join(defaultStore, 'volumes')), 'the default volume store is made in the VCH\'s folder: ' + defaultStore);

  // ---- the list ----
  await page.goto(baseUrl + '/');
  const row = page.locator(`tr[data-vch="${NAME}"]`);
  await row.waitFor();
  ok(/2376/.test(await row.textContent()), 'the VCH is in the list with its Docker endpoint');
  await shot(page, '07-list');

  // ---- detail ----
  await row.locator('a', { hasText: 'Open' }).click();
  await page.waitForSelector('#docker-host');
  ok(/tcp:\/\/127\./.test(await page.textContent('#docker-host')), 'the detail page shows the endpoint');
  await page.waitForSelector('#containers table, #containers .alert, #containers .vic-empty');
  ok(true, 'the containers section answers: ' + (await page.textContent('#containers')).trim().slice(0, 80));
  await shot(page, '08-vch-detail');

  // ---- a container run with the docker CLI, seen and stopped from the page ----
  const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
  const haveRegistry = ['docker-registry', 'skopeo'].every((t) =>
    spawnSync('sh', ['-c', 'command -v ' + t]).status === 0);
  if (DOCKER && haveRegistry) {
    registryDir = mkdtempSync(join(tmpdir(), 'vic-browser-registry-'));
    const addr = '127.0.0.1:' + (20000 + (process.pid % 20000));
    registryEnv = { ...process.env, REGISTRY_ADDR: addr };
    const reg = spawnSync('bash', [join(ROOT, 'tests/fixtures/registry-busybox.sh'), registryDir],
      { env: registryEnv, encoding: 'utf8', timeout: 300000 });
    ok(reg.status === 0, 'a local registry with busybox runs (' + (reg.stderr || '').trim().slice(-200) + ')');
    const vch = await (await adminApi.get('/container/target/local/vch/' + encodeURIComponent('vm:' + NAME))).json();
    const denv = { ...process.env, DOCKER_CONFIG: join(home, 'docker-cli') };
    for (const line of String(vch.runtime.docker_env || '').trim().split('\n')) {
      const i = line.indexOf('=');
      denv[line.slice(0, i)] = line.slice(i + 1);
    }
    const docker = (...args) => spawnSync(DOCKER, args, { env: denv, encoding: 'utf8', timeout: 120000 });
    const image = addr + '/busybox';
    let r = docker('pull', image);
    ok(r.status === 0, 'docker pull through the VCH (' + (r.stderr || '').trim().slice(-200) + ')');
    r = docker('run', '-d', '--name', 'web', '-p', '8080:80', image, 'sh', '-c',
      'echo hello from the ui test; mkdir /www; echo served by a containerVM > /www/index.html; ' +
      'httpd -p 80 -h /www; sleep 600');
    ok(r.status === 0, 'docker run -d in the VCH (' + (r.stderr || '').trim().slice(-200) + ')');
    await page.reload();
    const crow = page.locator('tr[data-container="web"]');
    await crow.waitFor({ timeout: 15000 });
    const ctext = await crow.textContent();
    ok(ctext.includes(image) && /running/i.test(ctext), 'the container shows in the insight table with its image and state');
    const link = await crow.locator('a[href$=":8080/"]').getAttribute('href');
    ok(/^http:\/\/127\.77\.[0-9.]+:8080\/$/.test(link || '') && ctext.includes(':8080→80/tcp'),
      'the insight table links the published port: ' + link);
    let served = '';
    for (let i = 0; i < 50 && !served.includes('served'); i++) {
      served = await fetch(link).then((x) => x.text(), () => '');
      if (!served.includes('served')) await new Promise((res) => setTimeout(res, 100));
    }
    ok(served.trim() === 'served by a containerVM', 'the port link answers from the container: ' + served.trim());
    await crow.locator('button').first().click();
    await page.waitForFunction(() => /hello from the ui test/.test(
      (document.querySelector('#container-logs') || {}).textContent || ''), null, { timeout: 15000 });
    ok(true, 'the container view shows its logs');
    await page.waitForFunction(() => /CPU [0-9.]+ %.*memory [0-9.]+ MB/.test(
      (document.querySelector('#container-stats') || {}).textContent || ''), null, { timeout: 15000 });
    ok(true, 'the container view shows live CPU and memory: ' + (await page.textContent('#container-stats')));
    await shot(page, '08b-container');
    await page.click('.vic-drawer button:has-text("Stop")');
    await page.waitForSelector('.alert:has-text("Container stop: done")', { timeout: 30000 });
    r = docker('ps', '-a', '--filter', 'name=web', '--format', '{{.Status}}');
    ok(r.status === 0 && /^Exited/.test(r.stdout.trim()), 'docker ps -a reports the container stopped from the page: ' + r.stdout.trim());

    // ---- the VCH's admin portal (vicadmin): log in, the dashboard, a log followed live ----
    const portal = vch.runtime.admin_portal;
    const pw = readFileSync(vch.runtime.admin_password_file, 'utf8').trim();
    const pctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const pp = await pctx.newPage();
    await pp.goto(portal);
    await pp.waitForSelector('#login-form');
    await pp.fill('#password', 'not-the-password');
    await pp.click('#login-submit');
    await pp.waitForSelector('#login-error .alert');
    ok(/wrong user name or password/.test(await pp.textContent('#login-error')), 'the portal refuses a wrong password');
    await pp.fill('#password', pw);
    await pp.click('#login-submit');
    await pp.waitForSelector('#components tr[data-component="port-layer"]');
    const comps = await pp.$$eval('#components tbody tr', (trs) => trs.map((tr) => tr.dataset.component + ':' + tr.children[1].textContent));
    ok(['vic-init', 'port-layer', 'docker-personality', 'vicadmin'].every((c) => comps.includes(c + ':started')),
      'the portal dashboard shows every component started: ' + comps.join(' '));
    await pp.selectOption('#log-component', 'port-layer');
    await pp.click('#follow');
    await pp.waitForFunction(() => (document.querySelector('#log') || {}).textContent.length > 0, null, { timeout: 15000 });
    r = docker('start', 'web');
    ok(r.status === 0, 'docker start of the stopped container');
    await pp.waitForFunction(() => /containers\/web\/start|\/start/.test((document.querySelector('#log') || {}).textContent || ''),
      null, { timeout: 15000 });
    ok(true, 'the followed port-layer log shows the start as it happens');
    containerRunning = true;
    await shot(pp, '08c-admin-portal');
    await pctx.close();
  } else {
    log('skip the container part: needs the docker CLI, docker-registry and skopeo');
  }

  // ---- tokens ----
  await page.click('a.nav-link[href="/tokens"]');
  await page.waitForSelector('#sub');
  await page.fill('#sub', 'alice@example.com');
  await page.fill('#r_prefix', 'alice-');
  await page.fill('#r_cpu', '4000');
  await page.click('#issue-token');
  await page.waitForSelector('#token-link');
  const link = await page.inputValue('#token-link');
  ok(/\/self-provision#token=/.test(link), 'a token link is issued');
  await page.waitForSelector('#tokens-table tr[data-jti]');
  const jti = await page.getAttribute('#tokens-table tr[data-jti]', 'data-jti');
  await page.click(`#tokens-table tr[data-jti="${jti}"] button:has-text("Audit")`);
  await page.waitForSelector('#audit-table');
  ok(/issue/.test(await page.textContent('#audit-table')), 'the audit log shows the issue');
  await shot(page, '09-tokens');

  // ---- the link in a fresh browser context (no session) ----
  const holderCtx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const holder = await holderCtx.newPage();
  holder.on('pageerror', (e) => consoleErrors.push('holder pageerror: ' + e.message));
  const holderFailed = [];
  holder.on('requestfailed', (r) => holderFailed.push(r.url().replace(/#token=.*/, '') + ' (' +
    ((r.failure() || {}).errorText || '?') + ')'));
  await holder.goto(link);
  // The page must leave "Loading..." by itself: one load, no second chance.
  if (!(await holder.waitForSelector('#limits .vic-kv', { timeout: 15000 }).catch(() => null))) {
    throw new Error('the token holder page stayed at "Loading..." for 15 s: its scripts did not ' +
      'show the token limits' + (holderFailed.length ? '; failed requests: ' + holderFailed.join(', ') : ''));
  }
  const limits = await holder.textContent('#limits');
  ok(limits.includes('alice@example.com') && limits.includes('alice-') && limits.includes('4000 MHz'), 'the holder sees the token limits');
  ok(!holder.url().includes('token='), 'the token is dropped from the address bar');
  ok(await holder.inputValue('#name') === 'alice-vch', 'the reduced form proposes a name with the prefix');
  await holder.waitForSelector('#sp-vchs .vic-empty, #sp-vchs table');
  // beyond the token: the page says which limit, at its field
  await holder.fill('#name', 'alice-vch');
  await holder.fill('#cpu', '8000');
  await holder.click('#sp-create');
  await holder.waitForSelector('#sp-form .vic-problem', { timeout: 15000 });
  const over = await holder.textContent('#sp-form .vic-problem');
  ok(/8000 MHz exceeds the token's ceiling of 4000 MHz/.test(over), 'a request beyond the token is refused at its field: ' + over.trim());
  // within it: a real VCH, made with the token, listed for its holder
  await holder.fill('#cpu', '2000');
  await holder.click('#sp-create');
  await holder.waitForSelector('#sp-vch-table tr[data-vch="alice-vch"]', { timeout: 30000 });
  await holder.waitForFunction(() => /running/.test(
    (document.querySelector('#sp-vch-table tr[data-vch="alice-vch"]') || {}).textContent || ''), null, { timeout: 60000 });
  ok(true, 'the holder self-provisions a VCH within the limits and sees it running');
  await shot(holder, '10-self-provision');
  const made = await (await adminApi.get('/container/target/local/vch/alice-vch')).json();
  ok(made.compute.cpu.limit.value === 2000 && made.runtime.created_by === jti,
    'the VCH carries the chosen limit and is recorded as made with the token');
  // the admin revokes the token: the link is refused at once
  await page.click('a.nav-link[href="/tokens"]');
  await page.waitForSelector(`#tokens-table tr[data-jti="${jti}"]`);
  await page.click(`#tokens-table tr[data-jti="${jti}"] button:has-text("Revoke")`);
  await page.waitForSelector('#tokens-table tr[data-jti="' + jti + '"]:has-text("revoked")', { timeout: 15000 });
  const again = await holderCtx.newPage(); // a fresh load (same URL: only its fragment differs)
  await again.goto(link);
  await again.waitForFunction(() => /cannot be used/.test(
    (document.querySelector('main') || {}).textContent || ''), null, { timeout: 15000 });
  const refused = await again.textContent('main .alert');
  ok(/cannot be used/.test(refused) && /revoked/i.test(refused), 'the revoked link is refused: ' + refused.trim());
  await holderCtx.close();

  // ---- delete from the list ----
  await page.goto(baseUrl + '/');
  await page.locator(`tr[data-vch="${NAME}"] button:has-text("Delete")`).click();
  await page.waitForSelector('#delete-form');
  await shot(page, '11-delete-dialog');
  await page.check('#volume_stores-all');
  if (containerRunning) {
    // a running container: the default refuses, and the dialog says why
    await page.click('#delete-confirm');
    await page.waitForSelector('#delete-form .alert', { timeout: 15000 });
    ok(/running container/.test(await page.textContent('#delete-form .alert')),
      'deleting a VCH with a running container is refused, with the reason: ' + (await page.textContent('#delete-form .alert')).trim());
    await page.check('#containers-all');
  }
  await page.click('#delete-confirm');
  await page.waitForSelector(`tr[data-vch="${NAME}"]`, { state: 'detached', timeout: 60000 });
  ok(true, 'the VCH is deleted from the list');
  // the row goes when the appliance does; the delete's last steps may still be running
  for (let t = Date.now(); existsSync(join(home, 'datastore1', NAME)) && Date.now() - t < 30000;) {
    await new Promise((r) => setTimeout(r, 200));
  }
  ok(!existsSync(join(home, 'datastore1', NAME)), 'its folder and the default volume store in it are gone');
  await shot(page, '12-list-after-delete');

  ok(consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e)).length === 0,
    'no script errors or CSP violations in the console' + (consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''));
} catch (e) {
  failure = e;
  // what each open page showed when it failed: its address, its text and a screenshot
  let n = 0;
  for (const c of browser ? browser.contexts() : []) {
    for (const p of c.pages()) {
      n += 1;
      const text = await p.evaluate(() => document.body ? document.body.innerText : '').catch(() => '');
      console.error(`page ${n} at ${p.url().replace(/#token=.*/, '#token=...')}:\n  ` +
        text.replace(/\s+/g, ' ').slice(0, 800));
      await p.screenshot({ path: `${SHOTS}/failure-${n}.png`, fullPage: true }).catch(() => {});
    }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  await cleanup();
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failure) {
  console.error('FAIL after ' + passed + ' checks (' + secs + 's): ' + (failure.stack || failure));
  if (consoleErrors.length) console.error('console: ' + consoleErrors.join('\n  '));
  console.error('web service stderr (tail):\n' + srvErr.slice(-3000));
  process.exit(1);
}
console.log(`browser tests: ${passed} checks passed in ${secs}s; screenshots in ${SHOTS}`);
