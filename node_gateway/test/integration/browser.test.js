// The console page in headless Chromium against the stack's own gateway process (as `make run`
// starts it): a search shows results, recommendations show reasons, and a feedback request ends
// with the model's message. A screenshot goes to bench/results/console.png.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { env } from './stack.js'

const CHROMIUM = env.CHROMIUM_PATH || '/usr/bin/chromium'
const RESULTS = fileURLToPath(new URL('../../../bench/results/', import.meta.url))
// The bundled LLM on 2 shared cores: a job takes seconds, but the worker may be busy.
const FEEDBACK_WITHIN_MS = 240000

describe('console page in a browser', () => {
  let browser
  let page

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    // A phone-sized window: the page must be usable there.
    page = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'en-US' })
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  })

  after(async () => {
    await browser?.close()
  })

  test('search, recommendations with reasons, and feedback to a message', { timeout: FEEDBACK_WITHIN_MS + 60000 }, async () => {
    await page.goto(`${env.STACK_GATEWAY_URL}/`)
    // With dev login, the page signs in as the first demo member.
    await page.locator('#status', { hasText: 'Signed in as u-mei' }).waitFor()
    assert.equal(await page.locator('html').getAttribute('lang'), 'en')

    await page.fill('#q', 'German grammar')
    await page.click('#search-form button[type=submit]')
    await page.locator('#hits li .title').first().waitFor()
    assert.ok(await page.locator('#hits li .title').count() > 0)

    await page.locator('#recos li .reason').first().waitFor()
    assert.ok(await page.locator('#recos li').count() > 0)

    // The first practice the page offers feedback on (it offers none where the service would
    // refuse: no check-in yet, or a completion insight before the practice is completed).
    const practice = page.locator('#practices li[data-practice]:has(button.request-feedback)').first()
    await practice.locator('button.request-feedback').click()
    const message = practice.locator('.message')
    // The page shows refusals in #status: fail with its words instead of waiting out the clock.
    const refused = page.locator('#status.error').waitFor({ timeout: FEEDBACK_WITHIN_MS })
      .then(async () => { throw new Error(`the page said: ${await page.locator('#status').innerText()}`) })
    await Promise.race([message.waitFor({ timeout: FEEDBACK_WITHIN_MS }), refused])
    refused.catch(() => {})
    assert.ok((await message.innerText()).trim().length > 0)

    await mkdir(RESULTS, { recursive: true })
    await page.screenshot({ path: `${RESULTS}console.png`, fullPage: true })
  })

  test('the page switches to Traditional Chinese', async () => {
    await page.click('#lang')
    await page.locator('#search-title', { hasText: '搜尋' }).waitFor()
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-TW')
    assert.equal(await page.locator('#reco-title').innerText(), '推薦給你')
  })
})
