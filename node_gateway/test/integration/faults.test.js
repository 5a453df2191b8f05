// The real API behind a proxy that the tests stop, stall and resume: the breaker opens, answers
// come fast with Retry-After, recommendations come from the last good answer, slow calls time
// out within budget, and everything closes again when the API is back.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { buildApp } from '../../src/app.js'
import { eventually } from '../helpers.js'
import { startProxy } from './proxy.js'
import { asMember, env, stackConfig } from './stack.js'

const TIMEOUT_MS = 400
const RESET_MS = 1000

describe('faults between the gateway and the API', () => {
  let proxy
  let app
  let mei

  before(async () => {
    proxy = await startProxy(env.AI_API_URL)
    app = await buildApp(stackConfig({
      AI_API_URL: proxy.url(),
      GATEWAY_TIMEOUT_MS: String(TIMEOUT_MS),
      GATEWAY_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
      GATEWAY_BREAKER_RESET_MS: String(RESET_MS),
      GATEWAY_RETRIES: '1'
    }), { logger: false })
    mei = await asMember('u-mei')
  })

  after(async () => {
    await app.close()
    proxy.close()
  })

  const recommendations = () => app.inject({ url: '/v1/users/u-mei/recommendations?limit=5', headers: mei })
  const search = () => app.inject({ url: '/v1/search?q=react', headers: mei })

  test('a stopped API: 503s, the breaker opens, recommendations come from the last good answer', async () => {
    const good = await recommendations()
    assert.equal(good.statusCode, 200, good.body)
    assert.equal(good.json().degraded, false)
    assert.equal((await search()).statusCode, 200)

    await proxy.stop()
    const failed = await search()
    assert.equal(failed.statusCode, 503, failed.body)
    assert.equal(failed.json().error.code, 'upstream_unavailable')
    assert.ok(failed.headers['retry-after'])

    // Enough failures open the search breaker; then search fails fast without calling.
    const open = await eventually(async () => {
      const res = await search()
      return res.json().error?.code === 'circuit_open' && res
    }, { what: 'the search breaker to open' })
    assert.equal(open.statusCode, 503)
    assert.ok(Number(open.headers['retry-after']) >= 1)
    const ready = await app.inject({ url: '/readyz' })
    assert.equal(ready.statusCode, 503)
    assert.equal(ready.json().breakers.search, 'open')

    const kept = await recommendations()
    assert.equal(kept.statusCode, 200, kept.body)
    assert.equal(kept.json().degraded, true)
    assert.deepEqual(kept.json().items.map((i) => i.id), good.json().items.map((i) => i.id))
    assert.match(kept.headers.warning, /last good answer/)
  })

  test('recovery: once the API is back the breakers close and /readyz is 200', async () => {
    await proxy.resume()
    await eventually(async () => (await search()).statusCode === 200, { ms: 15000, what: 'search through a closed breaker' })
    await eventually(async () => (await recommendations()).json().degraded === false, { ms: 15000, what: 'fresh recommendations' })
    await eventually(async () => (await app.inject({ url: '/readyz' })).statusCode === 200, { ms: 15000, what: '/readyz 200' })
  })

  test('a hung API: the call times out within its budget with 504', async () => {
    await eventually(async () => (await app.inject({ url: '/readyz' })).statusCode === 200, { what: 'closed breakers' })
    proxy.stall()
    try {
      const started = Date.now()
      const res = await search()
      const elapsed = Date.now() - started
      assert.equal(res.statusCode, 504, res.body)
      assert.equal(res.json().error.code, 'upstream_timeout')
      // Two attempts (one retry) of TIMEOUT_MS each, plus backoff: far below the 10 s default.
      assert.ok(elapsed < 2 * TIMEOUT_MS + 1500, `took ${elapsed} ms`)
    } finally {
      await proxy.resume()
    }
    await eventually(async () => (await search()).statusCode === 200, { ms: 15000, what: 'search after the stall' })
  })
})
