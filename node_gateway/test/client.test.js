import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import { AiServiceError, AiUnavailableError, CircuitOpenError, createClient, parseEvents } from '../src/client.js'
import { eventually, startUpstream } from './helpers.js'

const page = { cache: 'hit', degraded: false, items: [{ id: 'res-1', kind: 'course', title: 'A', score: 1, reasons: [] }], generated_at: '2026-11-30T00:00:00Z' }
const unavailable = { status: 503, body: { error: { code: 'service_unavailable', message: 'down' } }, headers: { 'retry-after': '0' } }

async function withUpstream(handler, options, run) {
  const upstream = await startUpstream(handler)
  const client = createClient({ baseUrl: upstream.url, token: 'tok', retryBaseMs: 1, ...options })
  try {
    await run(client, upstream)
  } finally {
    await client.close()
    await upstream.close()
  }
}

describe('client', () => {
  test('sends the token and the given request id, or makes one', async () => {
    await withUpstream(null, {}, async (client, upstream) => {
      const given = await client.search({ q: '德語', kind: ['course', 'book'] }, { requestId: 'r-1' })
      assert.equal(given.requestId, 'r-1')
      assert.equal(upstream.seen[0].headers['x-request-id'], 'r-1')
      assert.equal(upstream.seen[0].headers.authorization, 'Bearer tok')
      assert.equal(upstream.seen[0].url, '/v1/search?q=%E5%BE%B7%E8%AA%9E&kind=course&kind=book')
      await client.getItem('res/1')
      assert.match(upstream.seen[1].headers['x-request-id'], /^[0-9a-f-]{36}$/)
      assert.equal(upstream.seen[1].url, '/v1/items/res%2F1')
    })
  })

  test('retries idempotent requests on 503, with backoff, and then succeeds', async () => {
    await withUpstream((_req, n) => (n <= 2 ? unavailable : undefined), { retries: 2 }, async (client, upstream) => {
      const { status } = await client.recommendations('u-mei', { limit: 5 })
      assert.equal(status, 200)
      assert.equal(upstream.seen.length, 3)
    })
  })

  test('does not retry a 4xx: the request itself is wrong', async () => {
    const refused = { status: 422, body: { error: { code: 'validation_error', message: 'q: too long', details: [] } } }
    await withUpstream(() => refused, { retries: 3 }, async (client, upstream) => {
      await assert.rejects(client.search({ q: 'x' }), (error) => {
        assert.ok(error instanceof AiServiceError)
        assert.equal(error.status, 422)
        assert.equal(error.code, 'validation_error')
        assert.equal(error.transient, false)
        return true
      })
      assert.equal(upstream.seen.length, 1)
    })
  })

  test('a feedback POST gets an idempotency key, and every retry carries the same one', async () => {
    await withUpstream((_req, n) => (n === 1 ? unavailable : { status: 202, body: { job_id: 'j', status: 'queued', status_url: '/v1/feedback/j' } }),
      { retries: 1 }, async (client, upstream) => {
        const { status } = await client.requestFeedback('p-1', { kind: 'weekly_summary' })
        assert.equal(status, 202)
        const keys = upstream.seen.map((r) => r.body.idempotency_key)
        assert.equal(keys.length, 2)
        assert.ok(keys[0])
        assert.equal(keys[0], keys[1])
        await client.requestFeedback('p-1', { kind: 'weekly_summary', idempotency_key: 'mine' })
        assert.equal(upstream.seen[2].body.idempotency_key, 'mine')
      })
  })

  test('the breaker opens on failures: search fails fast, recommendations fall back to the last good answer', async () => {
    let down = false
    await withUpstream((req) => (down ? unavailable : { status: 200, body: req.url.includes('recommendations') ? page : { hits: [] } }),
      { retries: 0, breaker: { volumeThreshold: 2, resetTimeout: 60000 } }, async (client, upstream) => {
        const fresh = await client.recommendations('u-mei', { limit: 5 })
        assert.equal(fresh.body.degraded, false)
        down = true
        for (let i = 0; i < 2; i++) await assert.rejects(client.search({ q: 'x' }), AiServiceError)
        await assert.rejects(client.recommendations('u-mei', { limit: 7 }), AiServiceError) // never answered well
        const kept = await client.recommendations('u-mei', { limit: 5 })
        assert.equal(kept.fallback, true)
        assert.deepEqual(kept.body, { ...page, degraded: true })
        await client.recommendations('u-mei', { limit: 5 })
        assert.equal(client.breakerStates().recommend, 'open')
        assert.equal(client.breakerStates().search, 'open')
        const reached = upstream.seen.length
        await assert.rejects(client.search({ q: 'x' }), (error) => {
          assert.ok(error instanceof CircuitOpenError)
          assert.equal(error.status, 503)
          assert.equal(error.code, 'circuit_open')
          assert.ok(error.retryAfter >= 1)
          return true
        })
        const whileOpen = await client.recommendations('u-mei', { limit: 5 })
        assert.equal(whileOpen.body.degraded, true)
        assert.equal(upstream.seen.length, reached, 'an open breaker makes no calls')
        assert.equal(client.breakerStates().events, 'closed', 'families are independent')
      })
  })

  test('the breaker closes again once the service answers', async () => {
    let down = true
    await withUpstream(() => (down ? unavailable : undefined), { retries: 0, breaker: { volumeThreshold: 1, resetTimeout: 200 } },
      async (client) => {
        await assert.rejects(client.search({ q: 'x' }))
        assert.equal(client.breakerStates().search, 'open')
        down = false
        // The reset is a timer: wait for it to fire rather than for a fixed time past it.
        await eventually(() => client.breakerStates().search === 'halfOpen', { what: 'the breaker to half-open' })
        assert.equal((await client.search({ q: 'x' })).status, 200)
        assert.equal(client.breakerStates().search, 'closed')
      })
  })

  test('a slow service times out within the budget, as upstream_timeout', async () => {
    await withUpstream(() => ({ status: 200, body: {}, delayMs: 2000 }), { retries: 0, timeoutsMs: { headers: 150 } },
      async (client) => {
        const started = Date.now()
        await assert.rejects(client.search({ q: 'x' }), (error) => {
          assert.ok(error instanceof AiUnavailableError)
          assert.equal(error.code, 'upstream_timeout')
          assert.equal(error.status, 504)
          return true
        })
        assert.ok(Date.now() - started < 1500, 'gave up before the slow answer came')
      })
  })

  test('an unreachable service is upstream_unavailable', async () => {
    const client = createClient({ baseUrl: 'http://127.0.0.1:9', retries: 1, retryBaseMs: 1 })
    await assert.rejects(client.search({ q: 'x' }), (error) => error instanceof AiUnavailableError && error.code === 'upstream_unavailable')
    await client.close()
  })
})

describe('parseEvents', () => {
  test('reads named events, skips comments, joins data lines, survives split chunks', async () => {
    const text = ': ping\r\n\r\nevent: queued\ndata: {"status":\ndata: "queued"}\n\nevent: succeeded\r\ndata: {"status":"succeeded"}\r\n\r\n'
    const chunks = [text.slice(0, 17), text.slice(17, 40), text.slice(40)]
    const seen = []
    for await (const event of parseEvents(Readable.from(chunks))) seen.push(event)
    assert.deepEqual(seen, [
      { event: 'queued', data: { status: 'queued' } },
      { event: 'succeeded', data: { status: 'succeeded' } }
    ])
  })
})
