// The operators' page in a real browser (issue 8): run by tests/browser/run.sh,
// which starts the controller, the agents and the git repository and passes
// their addresses and tokens in the environment. Debian's chromium, driven by
// playwright-core. Every wait is bounded; a screenshot is taken at each step.
//
// The flow: sign in with a token; start a run with the page's button; see
// its stages turn green without reloading; open a log (ANSI colors, HTML
// shown as text, the long log paged); the GMUD refused for the admin and
// approved by a release manager through the buttons; the deploy finishing;
// a release rolled back through its button; the agents; the controller
// restarted under the page, which reconnects by itself; phone width; color
// contrast (WCAG AA) and keyboard use along the way.
import {execSync} from 'node:child_process';
import {createRequire} from 'node:module';
import path from 'node:path';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(name + ' is not set: run tests/browser/run.sh BUILD_DIR');
  return v;
}
const base = env('GANTRY_URL');
const shots = env('GANTRY_SCREENSHOTS');
const tokens = {admin: env('GANTRY_ADMIN_TOKEN'), rosa: env('GANTRY_ROSA_TOKEN'), dev: env('GANTRY_DEV_TOKEN')};
const restartCommand = env('GANTRY_RESTART');
const require = createRequire(path.join(env('GANTRY_BROWSER_MODULES'), 'package.json'));
const {chromium} = require('playwright-core');

const STEP_MS = 20_000;  // default bound of one wait
const RUN_MS = 90_000;   // bound of a pipeline reaching a state
const t0 = Date.now();
const say = (msg) => console.log('[' + ((Date.now() - t0) / 1000).toFixed(1) + ' s] ' + msg);

const watchdog = setTimeout(() => {
  console.error('flow: still running after 7 minutes; giving up');
  process.exit(1);
}, 7 * 60_000);

let shotNo = 0;
async function shot(page, name) {
  const file = path.join(shots, String(++shotNo).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({path: file, fullPage: true, timeout: STEP_MS});
  say('screenshot ' + file);
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

// Polls `fn` until it returns something truthy, at most `ms`.
async function until(what, fn, ms = STEP_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms: ' + what + ' (last: ' + last + ')');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const q = (s) => JSON.stringify(s);  // a CSS attribute value
const stage = (page, id) => page.locator('button.stage[data-stage=' + q(id) + ']');
async function stageStatus(page, id, status, ms = RUN_MS) {
  await page.locator('button.stage[data-stage=' + q(id) + '][data-status=' + q(status) + ']')
      .waitFor({timeout: ms});
  say('stage ' + id + ': ' + status);
}
async function connState(page) {
  return page.locator('#conn').getAttribute('data-state');
}

async function signIn(page, token, who) {
  const input = page.getByLabel('Token');
  await input.waitFor();
  await input.fill(token);
  await input.press('Enter');  // the keyboard submits the form
  await page.getByRole('button', {name: 'Sign out'}).waitFor();
  say('signed in as ' + who);
}
async function signOut(page) {
  await page.getByRole('button', {name: 'Sign out'}).click();
  await page.getByLabel('Token').waitFor();
  check((await page.evaluate(() => localStorage.getItem('gantry.token'))) === null,
        'signing out forgets the token');
}

// WCAG AA: every text in `selector` has 4.5:1 against its background.
async function checkContrast(page, selector, what) {
  const bad = await page.evaluate((sel) => {
    const rgb = (s) => {
      const m = s.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a] = m[1].split(',').map((x) => parseFloat(x));
      return {r, g, b, a: a === undefined ? 1 : a};
    };
    const lum = ({r, g, b}) => {
      const f = (c) => {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (e) => {
      for (; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return {r: 255, g: 255, b: 255, a: 1};
    };
    const out = [];
    for (const e of document.querySelectorAll(sel)) {
      if (!e.offsetParent && getComputedStyle(e).position !== 'fixed') continue;  // not shown
      const fg = rgb(getComputedStyle(e).color);
      const bg = background(e);
      const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < 4.5) out.push((e.className || e.tagName) + ' "' + e.textContent.slice(0, 30) + '": ' + ratio.toFixed(2));
    }
    return out;
  }, selector);
  check(bad.length === 0, 'contrast of ' + what + ' below 4.5:1: ' + bad.join('; '));
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  const seen = {};
  try {
    await flow(browser, seen);
  } catch (e) {
    if (seen.page) await shot(seen.page, 'failure').catch(() => {});
    throw e;
  } finally {
    await browser.close().catch(() => {});
  }
}

async function flow(browser, seen) {
  // Over TLS the certificate comes from the test's own CA, which Chromium does not know.
  const contextOptions = {viewport: {width: 1280, height: 900}, ignoreHTTPSErrors: base.startsWith('https:'),
                          acceptDownloads: true};
  const context = await browser.newContext(contextOptions);
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  seen.page = page;
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.dismiss());
  const sockets = [];  // the events WebSockets the page opened
  page.on('websocket', (ws) => {
    if (ws.url().includes('/api/v1/events')) sockets.push(ws.url());
  });

  // 1. Signing in: a wrong token is refused, the admin's is taken.
  await page.goto(base + '/', {timeout: STEP_MS});
  await page.getByRole('heading', {name: 'Sign in to Gantry'}).waitFor();
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await until('the wrong token refused', async () =>
    /does not know this token/.test(await page.locator('#signin-error').textContent()));
  await shot(page, 'sign-in-refused');
  await signIn(page, tokens.admin, 'admin');
  await page.getByRole('heading', {name: 'Runs', exact: true}).waitFor();

  // 2. A run started with the page's button (from the keyboard).
  const start = page.getByRole('button', {name: 'Start run of app'});
  await start.waitFor();
  await shot(page, 'runs');
  await start.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/runs\/\d+$/, {timeout: STEP_MS});
  const runId = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
  say('run ' + runId + ' started from the page; connection: ' + (await connState(page)));

  // 3. Its stages turn green live: the page is never reloaded.
  await stageStatus(page, 'Build', 'running');
  await shot(page, 'build-running');
  await stageStatus(page, 'Build', 'succeeded');
  await stageStatus(page, 'Tests / Unit', 'succeeded');
  await stageStatus(page, 'Tests / Lint', 'succeeded');
  await stageStatus(page, 'Staging', 'succeeded');
  await page.locator('.group-head[data-stage="Tests"]').waitFor();
  check(await page.locator('.col.group .lane').count() === 2, 'Tests shows two parallel lanes');
  await stageStatus(page, 'Production', 'waiting');
  // Why it waits: its change request, linked, and how many approvals it needs.
  const why = page.locator('#stage-why li[data-stage="Production"]');
  await until('the Production stage says why it waits', async () =>
    /GMUD-\d+/.test(await why.textContent()) && /approval/.test(await why.textContent()));
  check(await why.locator('a.request').count() === 1, 'the waiting reason links its GMUD');
  say('Production waits: ' + (await why.textContent()));
  await shot(page, 'stages-green');
  await checkContrast(page, '.badge, button.stage, .stage-meta, .group-head, dl.facts dt, .sections a, .conn', 'the run page');

  // 4. A log: the tail of a long one, paged; ANSI colors; HTML as text.
  await stage(page, 'Build').click();
  await until('the Build log title', async () => (await page.locator('#log-title').textContent()) === 'Log: Build');
  const log = page.locator('pre.log');
  await until('the colored line in the Build log', async () =>
    (await log.locator('.fg32').filter({hasText: 'compiled ok'}).count()) === 1);
  check(await log.locator('.fg31.bold').filter({hasText: 'bold red'}).count() === 1, 'bold red is bold and red');
  check((await log.textContent()).includes('<b>not bold</b>'), 'HTML in a log shows as text');
  check(await log.locator('b').count() === 0, 'HTML in a log is not markup');
  const firstNumber = async () => Number((await log.textContent()).match(/^\s*(\d+)/)[1]);
  const before = await firstNumber();
  check(before > 30000, 'only the tail of the long log is loaded first (starts at ' + before + ')');
  check(!(await page.locator('.log-info').textContent()).startsWith('Bytes 0'), 'the log is paged');
  // Line numbers count from the log's start though only its tail is loaded: the log's two
  // "[gantry]" lines come before `seq`'s output, so the line showing N is line N + 2.
  const numbering = await log.evaluate((p) => ({on: p.classList.contains('numbered'), reset: p.style.counterReset}));
  check(numbering.on && numbering.reset === 'line ' + (before + 1),
        'the first shown line is numbered ' + (before + 2) + ' (' + JSON.stringify(numbering) + ')');
  await checkContrast(page, 'pre.log, pre.log span', 'the log');
  // Find in the log, whatever the case: the command line and its output match, counted; the
  // first is selected.
  await page.getByLabel('Find').fill('COMPILED OK');
  await page.getByLabel('Find').press('Enter');
  await until('the search counts its matches', async () =>
    (await page.locator('.log-find-info').textContent()) === '2 matches');
  check((await page.evaluate(() => String(window.getSelection()))) === 'compiled ok', 'the match is selected');
  // The whole log as a file.
  const [logFile] = await Promise.all([page.waitForEvent('download', {timeout: STEP_MS}),
                                       page.getByRole('button', {name: 'Download log'}).click()]);
  const logPath = path.join(shots, 'build.log');
  await logFile.saveAs(logPath);
  const {readFileSync: readLog} = await import('node:fs');
  const whole = readLog(logPath, 'utf8');
  check(whole.includes('\n1\n') && whole.includes('compiled ok'), 'the downloaded log is the whole log');
  say('log downloaded: ' + logFile.suggestedFilename() + ', ' + whole.length + ' bytes');
  // Timestamps: when each line reached the controller, beside its number.
  await page.getByRole('button', {name: 'Timestamps'}).click();
  await until('the lines have their times', async () =>
    /^\d\d:\d\d:\d\d$/.test(await log.locator('.line').last().getAttribute('data-time') || ''));
  check(await log.evaluate((p) => p.classList.contains('timed')), 'the log shows its timestamps');
  await shot(page, 'log-tail');
  await page.getByRole('button', {name: 'Load earlier (64 KiB)'}).click();
  await until('an earlier page of the log', async () => (await firstNumber()) < before - 5000);
  say('log paged: first line ' + before + ', then ' + (await firstNumber()));
  await shot(page, 'log-earlier');

  // Keyboard: a stage is a button; Space and Enter open its log, the focus shows.
  await stage(page, 'Tests / Unit').focus();
  await page.keyboard.press('Space');
  await until('the Unit log by keyboard', async () =>
    (await page.locator('#log-title').textContent()) === 'Log: Tests / Unit' &&
    (await log.textContent()).includes('unit tests pass'));
  // A step's line folds its output, and unfolds it.
  const stepLine = log.locator('.step-head').filter({hasText: '+ echo unit tests pass'});
  await stepLine.click();
  await until('the step folded', async () => !(await log.innerText()).includes('\nunit tests pass'));
  await shot(page, 'log-folded');
  await stepLine.click();
  await until('the step unfolded', async () => (await log.innerText()).includes('\nunit tests pass'));
  await stage(page, 'Tests / Lint').focus();
  await page.keyboard.press('Enter');
  await until('the Lint log by keyboard', async () => (await log.textContent()).includes('lint is clean'));
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => ({
    stage: document.activeElement.dataset.stage,
    outline: getComputedStyle(document.activeElement).outlineStyle,
  }));
  check(focus.stage === 'Tests / Lint', 'the focus stays on the stage (' + focus.stage + ')');
  check(focus.outline !== 'none', 'the focused stage shows its focus (outline ' + focus.outline + ')');

  // 5. The GMUD, through the link on the run page: the admin started the run and may not
  // approve it, so the page offers no buttons, says why and who may; a release manager
  // approves (a rejection needs a comment).
  await why.locator('a.request').click();
  await page.waitForURL(/#\/approvals$/, {timeout: STEP_MS});
  const card = page.locator('article.approval').first();
  await card.waitFor();
  const gmud = (await card.locator('h2').textContent()).match(/(GMUD-\d+)/)[1];
  check((await card.locator('.blocked li').count()) > 0, 'the request says what blocks it');
  await until('the admin told why not', async () => /You may not decide/.test(await card.textContent()));
  check(!(await card.getByRole('button', {name: 'Approve ' + gmud}).isVisible()),
        'no Approve button for someone who may not approve');
  check(/Who may decide.*rosa/s.test(await card.locator('dl.facts').textContent()),
        'the request lists who may decide');
  say('admin: ' + (await card.locator('.not-yours').textContent()));
  await checkContrast(page, '.badge, .blocked, .blocked li, .not-yours, dl.facts dt, label', 'the approvals page');
  await shot(page, 'approval-not-yours');

  await signOut(page);
  await signIn(page, tokens.rosa, 'rosa (release manager)');
  await page.getByRole('link', {name: /^Approvals/}).click();
  const card2 = page.locator('article.approval[data-key=' + q(gmud) + ']');
  await card2.waitFor();
  await card2.getByRole('button', {name: 'Reject ' + gmud}).click();
  await until('the rejection refused without a comment', async () =>
    /needs a comment/.test(await card2.locator('.decide .error').textContent()));
  await card2.getByLabel('Comment (required to reject)').fill('tests green, low impact');
  await shot(page, 'approval-pending');
  await card2.getByRole('button', {name: 'Approve ' + gmud}).click();
  await until('the approval confirmed', async () =>
    new RegExp('Approved ' + gmud).test(await page.locator('.flash').textContent()));
  say(gmud + ' approved by rosa');
  await shot(page, 'approved');

  // 6. The deploy finishes.
  await page.goto(base + '/#/runs/' + runId);
  await stageStatus(page, 'Production', 'succeeded');
  await until('the run succeeded', async () =>
    (await page.locator('.run-head .badge').textContent()) === 'succeeded', RUN_MS);
  // Its facts name the change request with who approved it, and the release it made.
  await until('the run names its GMUD, approver and release', async () => {
    const facts = await page.locator('dl.facts').textContent();
    return new RegExp(gmud + ' approved by rosa').test(facts) && /R-\d+ production/.test(facts) &&
        facts.includes('The app and its pipeline');  // the commit's title
  });
  // Its artifact, downloaded from the run page.
  const artifact = page.locator('#artifact-list button[data-path="dist/app.bin"]');
  await artifact.waitFor({timeout: STEP_MS});
  const [download] = await Promise.all([page.waitForEvent('download', {timeout: STEP_MS}), artifact.click()]);
  const saved = path.join(shots, 'app.bin');
  await download.saveAs(saved);
  const {readFileSync} = await import('node:fs');
  check(readFileSync(saved, 'utf8') === 'app binary\n', 'the downloaded artifact has its bytes');
  say('artifact downloaded: ' + download.suggestedFilename());
  await shot(page, 'deployed');

  // 7. Releases: production's release rolled back through its button.
  await page.getByRole('link', {name: 'Releases'}).click();
  const row = page.locator('table.releases tbody tr').filter({hasText: 'production'}).first();
  await row.waitFor();
  const release = (await row.locator('strong').textContent()).trim();
  check(/current/.test(await row.textContent()), release + ' is production\'s current release');
  await checkContrast(page, '.badge, .tag, td, th', 'the releases page');
  await shot(page, 'releases');
  await row.getByRole('button', {name: 'Roll back ' + release}).click();
  await row.getByLabel('Comment (optional)').fill('browser test rollback');
  await row.getByRole('button', {name: 'Confirm: roll back ' + release}).click();
  await until('the rollback started', async () =>
    new RegExp('Rolling back ' + release).test(await page.locator('.flash').textContent()));
  const rollbackRun = Number((await page.locator('.flash a').textContent()).match(/(\d+)/)[1]);
  await page.locator('table.releases tbody tr[data-key=' + q(release) + '][data-status="rolled_back"]')
      .waitFor({timeout: RUN_MS});
  say(release + ' rolled back by run ' + rollbackRun);
  await shot(page, 'rolled-back');

  // 8. Agents.
  await page.getByRole('link', {name: 'Agents'}).click();
  await until('two connected agents', async () =>
    (await page.locator('table.agents tbody tr .badge').filter({hasText: /^connected$/}).count()) === 2);
  check((await page.locator('table.agents').textContent()).includes('linux'), 'agents show their labels');
  await shot(page, 'agents');

  // 9. The controller restarts under the page: it notices, reconnects by
  // itself, and a new run from its button goes on live.
  await page.getByRole('link', {name: 'Runs', exact: true}).click();
  await page.getByRole('button', {name: 'Start run of app'}).waitFor();
  const wasLive = (await connState(page)) === 'live';
  const socketsBefore = sockets.length;
  execSync(restartCommand, {stdio: 'inherit', timeout: 60_000});
  say('controller restarted');
  if (wasLive) {
    await until('the page reconnects to the events with since=', async () =>
      (await connState(page)) === 'live' && sockets.slice(socketsBefore).some((u) => /[?&]since=\d+/.test(u)),
    30_000);
    say('events socket reconnected: ' + sockets[sockets.length - 1].replace(/token=[^&]+/, 'token=...'));
  } else {
    say('the events socket was not open before the restart: the page polls');
  }
  await until('the page reads from the restarted controller', async () =>
    (await page.locator('#banner').isHidden()) && (await connState(page)) !== 'offline', 30_000);
  await page.getByRole('button', {name: 'Start run of app'}).click();
  await page.waitForURL(/#\/runs\/\d+$/, {timeout: STEP_MS});
  await stageStatus(page, 'Build', 'succeeded');
  say('after the restart a run goes on live; connection: ' + (await connState(page)));
  await shot(page, 'after-restart');
  // The runs list follows it too, without a reload.
  const run3 = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
  await page.getByRole('link', {name: 'All runs'}).click();
  await page.locator('table.runs tbody tr[data-key="' + run3 + '"][data-status="waiting"]').waitFor({timeout: RUN_MS});
  say('the runs list shows run ' + run3 + ' waiting');
  await shot(page, 'runs-list');

  // 9b. A developer: run 3's GMUD offers them no buttons, says why and who may decide.
  await signOut(page);
  await signIn(page, tokens.dev, 'dev (developer)');
  await page.getByRole('link', {name: /^Approvals/}).click();
  const devCard = page.locator('article.approval').first();
  await devCard.waitFor();
  await until('the developer told they may not decide', async () =>
    /You may not decide/.test(await devCard.textContent()));
  check(await devCard.getByRole('button', {name: /^Approve /}).count() === 0 ||
        !(await devCard.getByRole('button', {name: /^Approve /}).isVisible()),
        'no Approve button for a developer');
  // Rosa started run 3 (she signed in last), so only Ravi may decide it.
  check(/Who may decide\s*ravi/.test(await devCard.locator('dl.facts').textContent()),
        'the developer sees who may decide');
  await shot(page, 'approval-developer');

  // 9c. The developer's everyday run of the lab: parameters from the form (a choice), a
  // canary whose phases are named, a failing test with its text, a stage that waits for an
  // agent saying why; then cancelled and restarted from a stage, stashes kept.
  await page.getByRole('link', {name: 'Runs', exact: true}).click();
  const labForm = page.locator('form.repo-form').filter({has: page.getByRole('button', {name: 'Start run of lab'})});
  await labForm.locator('details.params summary').click();
  await labForm.getByLabel('FLAVOR').selectOption('chocolate');
  await labForm.getByLabel('LOUD').check();
  await labForm.getByLabel('GREETING').fill('good morning');
  check((await labForm.locator('select[name="FLAVOR"] option').count()) === 3, 'the choice offers its three values');
  await shot(page, 'parameters-form');
  await labForm.getByRole('button', {name: 'Start run of lab'}).click();
  await page.waitForURL(/#\/runs\/\d+$/, {timeout: STEP_MS});
  const labRun = Number(page.url().match(/#\/runs\/(\d+)$/)[1]);
  await stageStatus(page, 'Prepare', 'succeeded');
  await stage(page, 'Prepare').click();
  await until('the parameters reached the steps', async () =>
    (await page.locator('pre.log').textContent()).includes('flavor=chocolate loud=true greeting=good morning'));
  await stageStatus(page, 'Canary', 'succeeded');
  await stage(page, 'Canary').click();
  await until('the canary\'s phases named', async () => {
    // A click that lands while the stage graph is redrawn (the next stage's status
    // arriving) is lost with the old element: click again until the log is the canary's.
    if (!((await page.locator('#log-title').textContent()) || '').includes('Canary'))
      await stage(page, 'Canary').click();
    const names = await page.locator('#attempt-select option').allTextContents();
    return names.join('|') === '1: deploy 50%|2: deploy 100%';
  });
  await page.locator('#attempt-select').selectOption('1');
  await until('the 50% phase\'s log', async () =>
    (await page.locator('#log-title').textContent()) === 'Log: Canary — deploy 50%' &&
    (await page.locator('pre.log').textContent()).includes('canary at 50%'));
  await shot(page, 'canary-phases');
  await stageStatus(page, 'Test', 'unstable');
  // The Windows stage: no agent has the label; the page says so.
  await stageStatus(page, 'Windows', 'queued');
  const queued = page.locator('#stage-why li[data-stage="Windows"]');
  await until('the queued stage says why', async () =>
    /label 'windows'.*none of the 2 connected agent\(s\) has it/.test(await queued.textContent()));
  say('Windows waits: ' + (await queued.textContent()));
  await shot(page, 'queued-reason');
  // The developer may cancel their own run; its failing test shows its text.
  await page.getByRole('button', {name: 'Cancel run'}).click();
  await until('the lab run aborted', async () =>
    (await page.locator('.run-head .badge').textContent()) === 'aborted', RUN_MS);
  const failure = page.locator('#test-list details.test-case').first();
  await failure.waitFor();
  check(await failure.evaluate((d) => d.open), 'a failed test is open');
  const failureText = await failure.textContent();
  check(failureText.includes('shop.CartTest.totals') && failureText.includes('expected 3 but was 2') &&
        failureText.includes('CartTest.java:42'), 'the failed test shows its message and trace: ' + failureText);
  check(/3 tests, 1 failed/.test(await page.locator('#test-summary').textContent()), 'the test counts');
  await page.getByRole('button', {name: 'Show passed tests too'}).click();
  await until('the passed tests listed', async () => (await page.locator('#test-list li').count()) === 3);
  await shot(page, 'tests');
  // Restart from Test: Prepare and Canary are skipped, the stash Prepare made is still there.
  await page.locator('#restart-stage').selectOption('Test');
  await page.getByRole('button', {name: 'Restart from stage'}).click();
  await until('a new run restarted from Test', async () =>
    /#\/runs\/(\d+)$/.test(page.url()) && Number(page.url().match(/#\/runs\/(\d+)$/)[1]) !== labRun);
  await stageStatus(page, 'Prepare', 'skipped');
  await stageStatus(page, 'Canary', 'skipped');
  await stageStatus(page, 'Test', 'unstable');
  await stage(page, 'Test').click();
  await until('the restarted Test read the kept stash', async () =>
    (await page.locator('pre.log').textContent()).includes('flavor=chocolate'));
  await shot(page, 'restarted');
  await page.getByRole('button', {name: 'Cancel run'}).click();
  await until('the restarted run aborted', async () =>
    (await page.locator('.run-head .badge').textContent()) === 'aborted', RUN_MS);
  const labRunPage = page.url();

  // 10. Without WebSockets at all the page polls the REST API and still
  // follows a run live.
  const polling = await browser.newContext(contextOptions);
  polling.setDefaultTimeout(STEP_MS);
  await polling.addInitScript(() => {
    window.WebSocket = function () { throw new Error('no WebSocket in this test'); };
  });
  const page2 = await polling.newPage();
  page2.on('pageerror', (e) => pageErrors.push('(polling page) ' + e.message));
  await page2.goto(base + '/');
  await signIn(page2, tokens.admin, 'admin, in a browser without WebSockets');
  await page2.getByRole('button', {name: 'Start run of app'}).click();
  await page2.waitForURL(/#\/runs\/\d+$/, {timeout: STEP_MS});
  check((await connState(page2)) === 'polling', 'the page says it polls');
  await stageStatus(page2, 'Build', 'succeeded');
  await stageStatus(page2, 'Tests / Unit', 'succeeded');
  await stageStatus(page2, 'Staging', 'succeeded');
  await stageStatus(page2, 'Production', 'waiting');
  await stage(page2, 'Build').click();
  await until('the Build log read by polling', async () =>
    (await page2.locator('pre.log .fg32').filter({hasText: 'compiled ok'}).count()) === 1);
  await shot(page2, 'polling');
  await polling.close();

  // 11. Phone width: one column, nothing wider than the screen.
  await page.setViewportSize({width: 390, height: 844});
  await page.goto(base + '/#/runs/' + runId);
  await stageStatus(page, 'Production', 'succeeded');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, 'the run page fits a phone (' + overflow + ' px too wide)');
  await shot(page, 'phone-run');
  await page.getByRole('link', {name: 'Releases'}).click();
  await page.locator('table.releases tbody tr').first().waitFor();
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the releases page fits a phone');
  await shot(page, 'phone-releases');
  // The lab run: why, tests, the phase picker; and the start form with its parameters.
  await page.goto(labRunPage);
  await page.locator('#test-list details.test-case').first().waitFor();
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the lab run page (tests, why) fits a phone');
  await shot(page, 'phone-lab-run');
  await page.getByRole('link', {name: 'Runs', exact: true}).click();
  const phoneForm = page.locator('form.repo-form').filter({has: page.getByRole('button', {name: 'Start run of lab'})});
  await phoneForm.locator('details.params summary').click();
  await phoneForm.getByLabel('GREETING').waitFor();
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        'the start form with parameters fits a phone');
  await shot(page, 'phone-parameters');

  check(pageErrors.length === 0, 'no uncaught errors in the page: ' + pageErrors.join('; '));
  say('connection at the end: ' + (await connState(page)));
}

main().then(() => {
  clearTimeout(watchdog);
  say('browser flow passed');
}, (e) => {
  clearTimeout(watchdog);
  console.error('flow failed: ' + (e && e.stack ? e.stack : e));
  process.exitCode = 1;
});
