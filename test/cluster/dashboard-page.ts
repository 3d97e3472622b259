// The dashboard in Debian's Chromium (playwright-core), for the dashboard tests: launch, log in,
// open a view, read a table row by its key, and waits that fail saying what did not appear,
// with the page's banner and the visible view's text. Screenshots go to
// test-artifacts/dashboard-<name>.png (gitignored).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';

import { waitFor } from './processes.ts';

export const artifactsDir = join(import.meta.dirname, '../../test-artifacts');

/** How long a wait for something on the page takes by default before it fails. */
export const shownTimeoutMs = 15_000;
/** How much of the visible view's text a failure message carries. */
const contextCharsMax = 1500;

export async function launchChromium(): Promise<Browser> {
  await mkdir(artifactsDir, { recursive: true });
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
}

/** The admin password `ottmesh init` printed. */
export function initPassword(printed: string): string {
  const password = /password: (\S+)/.exec(printed)?.[1];
  if (password === undefined) throw new Error(`ottmesh init printed no admin password; it printed:\n${printed}`);
  return password;
}

/** Table cells by their column label (data-label), as the user reads them. */
export type Row = Record<string, string>;

export class Dashboard {
  readonly page: Page;
  readonly baseUrl: string;

  constructor(page: Page, baseUrl: string) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  /** Fills the login form and sends it (from the start page when it is not showing). */
  async submitLogin(user: string, password: string): Promise<void> {
    if (!(await this.page.locator('#login-form').isVisible())) await this.page.goto(this.baseUrl);
    await this.shown('#login-form', 'the login form');
    await this.page.fill('#login-form input[name=username]', user);
    await this.page.fill('#login-form input[name=password]', password);
    await this.page.click('#login-form button');
  }

  async login(user: string, password: string): Promise<void> {
    await this.submitLogin(user, password);
    await this.shown('#nav', `the navigation after logging in as ${user}`);
  }

  /** Opens `#view` (e.g. 'streams', 'stream/news') and waits until its section shows. */
  async open(view: string): Promise<void> {
    await this.page.goto(`${this.baseUrl}/#${view}`);
    const section = view.split('/')[0];
    await this.shown(`section#${section}`, `the ${section} view`);
  }

  /** Waits until `selector` is visible (`attached`: in the page, e.g. an <option>); the error
   *  names `what` and shows the page. */
  async shown(selector: string, what: string, timeoutMs = shownTimeoutMs, state: 'visible' | 'attached' = 'visible'): Promise<void> {
    try {
      await this.page.locator(selector).first().waitFor({ state, timeout: timeoutMs });
    } catch (err) {
      throw new Error(`${what} did not appear within ${timeoutMs} ms (${selector})\n${await this.context()}`, { cause: err });
    }
  }

  /** Polls `probe` until it returns non-null; the error names `what` and shows the page. */
  async until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = shownTimeoutMs): Promise<T> {
    try {
      return await waitFor(what, probe, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await this.context()}`, { cause: err });
    }
  }

  /** Waits until the element's text matches `pattern`; its text. */
  async textMatches(selector: string, pattern: RegExp, what: string, timeoutMs = shownTimeoutMs): Promise<string> {
    let last = '(not on the page)';
    try {
      return await waitFor(what, async () => {
        const locator = this.page.locator(selector).first();
        last = (await locator.count()) === 0 ? '(not on the page)' : await locator.innerText();
        return pattern.test(last) ? last : null;
      }, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${what} did not show within ${timeoutMs} ms: ${selector} never matched ${pattern}, it showed ${JSON.stringify(last)}\n${await this.context()}`, { cause: err });
    }
  }

  /** The row of `table` whose data-key is `key`, as label -> text; null when there is none. */
  async row(table: string, key: string): Promise<Row | null> {
    return this.page.evaluate<Row | null>(`(() => {
      const tr = document.querySelector(${JSON.stringify(`${table} tbody tr[data-key="${key}"]`)});
      if (tr === null) return null;
      return Object.fromEntries([...tr.cells].map((td) => [td.dataset.label, td.innerText.trim()]));
    })()`);
  }

  /** Waits until the row of `table` keyed `key` satisfies `ok`; that row. */
  async rowWhere(table: string, key: string, ok: (row: Row) => boolean, what: string, timeoutMs = shownTimeoutMs): Promise<Row> {
    let last: Row | null = null;
    try {
      return await waitFor(what, async () => {
        last = await this.row(table, key);
        return last !== null && ok(last) ? last : null;
      }, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${what} did not happen within ${timeoutMs} ms; the row ${key} of ${table} showed ${JSON.stringify(last)}\n${await this.context()}`, { cause: err });
    }
  }

  /** How many CSS pixels the page is wider than the window (0: no horizontal overflow). */
  async overflowPx(): Promise<number> {
    return this.page.evaluate<number>('Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth');
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(artifactsDir, `dashboard-${name}.png`), fullPage: true });
  }

  /** The banner and the visible view's text, for failure messages. */
  async context(): Promise<string> {
    try {
      const seen = await this.page.evaluate<{ url: string; flash: string; view: string }>(`(() => {
        const flash = document.getElementById('flash');
        const view = [...document.querySelectorAll('main > section')].find((s) => !s.hidden);
        return { url: location.href, flash: flash.hidden ? '' : flash.innerText, view: view ? view.innerText : '(no view shows)' };
      })()`);
      return `the page (${seen.url}) showed${seen.flash === '' ? '' : ` the banner "${seen.flash}" and`}:\n${seen.view.slice(0, contextCharsMax)}`;
    } catch (err) {
      return `(the page could not be read: ${(err as Error).message})`;
    }
  }
}
