// Drives Debian's Chromium through the JobRunr dashboard for JobsDashboardBrowserTest.
//
//   node dashboard.cjs <dashboard base URL> <user> <password> <screenshot dir>
//
// Talks JSON lines: it prints {"event":"ready","unauthenticatedStatus":401} once the job list has
// rendered, then reads one job id from stdin, opens that job's page and prints
// {"event":"state","state":"PROCESSING"} each time the page shows another state, and finally
// {"event":"done","states":[...],"jobName":"...","screenshots":[...]} when the page shows a final
// state. The page is never reloaded: what it shows after the first render came over the
// dashboard's own server-sent events (/sse/jobs/<id>). playwright-core is found through NODE_PATH
// (bin/services browser installs it under target/browser).
'use strict';

const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const [base, user, password, screenshotDir] = process.argv.slice(2);
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'DELETED']);
const TIMEOUT_MS = 5 * 60 * 1000;  // generous: a bound no machine load should reach

function emit(event) {
  const line = JSON.stringify(event);
  process.stdout.write(line + '\n');
  console.error(new Date().toISOString() + ' ' + line);  // the trace in dashboard-browser.log
}

function nextLine() {
  const lines = readline.createInterface({ input: process.stdin });
  return new Promise((resolve, reject) => {
    lines.once('line', line => { resolve(line.trim()); lines.close(); });
    lines.once('close', () => reject(new Error('stdin closed before a job id came')));
  });
}

// The job page's breadcrumb links to the list of the job's current state: /dashboard/jobs?state=X.
function shownState(page) {
  return page.evaluate(() => {
    const link = document.querySelector('#breadcrumb a[href*="state="]');
    return link ? new URL(link.href).searchParams.get('state') : null;
  });
}

async function main() {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // As root with no network. Playwright gives each launch a fresh --user-data-dir of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const anonymous = await browser.newContext();
    const anonymousPage = await anonymous.newPage();
    const [refused] = await Promise.all([
      anonymousPage.waitForResponse(base + '/dashboard/jobs'),
      // With no credentials to answer the 401, Chromium ends the navigation as ERR_INVALID_AUTH_CREDENTIALS.
      anonymousPage.goto(base + '/dashboard/jobs').catch(() => null),
    ]);
    const unauthenticatedStatus = refused.status();
    await anonymous.close();

    // Basic auth for every request of the page, its fetches and its EventSources too.
    const context = await browser.newContext({
      httpCredentials: { username: user, password },
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    await page.goto(base + '/dashboard/jobs');
    await page.waitForSelector('#jobs-table, #no-jobs-found-message');
    emit({ event: 'ready', unauthenticatedStatus });

    const jobId = await nextLine();
    await page.goto(base + '/dashboard/jobs/' + jobId);
    await page.waitForSelector('#job-name-title');
    const jobName = (await page.textContent('#job-name-title')).trim();

    const states = [];
    const screenshots = [];
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const state = await shownState(page);
      if (state && state !== states[states.length - 1]) {
        states.push(state);
        emit({ event: 'state', state });
        if (state === 'PROCESSING' || FINAL.has(state)) {
          const file = path.join(screenshotDir, 'jobrunr-dashboard-' + state.toLowerCase() + '.png');
          await page.screenshot({ path: file, fullPage: true });
          screenshots.push(file);
        }
        if (FINAL.has(state)) {
          break;
        }
      }
      if (Date.now() > deadline) {
        break;
      }
      await page.waitForTimeout(100);
    }
    emit({ event: 'done', states, jobName, screenshots, pageErrors: errors });
  } finally {
    await browser.close();
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
