// Through the gateway to the real API (embedded stack started once by run.js): search,
// recommendations, events reflected at once, and feedback to `succeeded` over SSE.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../../src/app.js'
import { asMember, env, stackConfig } from './stack.js'


describe('through the gateway to the real API', () => {
  let app

  before(async () => {
    app = await buildApp(stackConfig(), { logger: false })
  })
  after(() => app.close())

  test('search finds the demo catalogue in Chinese, with kind filters', async () => {
    const res = await app.inject({ url: '/v1/search?q=%E5%BE%B7%E8%AA%9E%E6%96%87%E6%B3%95&limit=5', headers: await asMember('u-mei') })
    assert.equal(res.statusCode, 200, res.body)
    const { hits } = res.json()
    assert.ok(hits.length > 0)
    assert.ok(hits.some((hit) => /德語|German/i.test(hit.title)), JSON.stringify(hits.map((h) => h.title)))
    const books = await app.inject({ url: '/v1/search?q=react&kind=book', headers: await asMember('u-mei') })
    assert.equal(books.statusCode, 200, books.body)
    assert.ok(books.json().hits.every((hit) => hit.kind === 'book'))
  })

  test('the API itself rejects what the gateway lets through but it cannot serve', async () => {
    const res = await app.inject({ url: '/v1/search?q=%20%20', headers: await asMember('u-mei') })
    assert.equal(res.statusCode, 422)
    assert.match(res.json().error.message, /^q: /)
  })

  test('recommendations come with reasons, and a hide is reflected at once', async () => {
    const headers = await asMember('u-jason')
    const first = await app.inject({ url: '/v1/users/u-jason/recommendations?limit=5', headers })
    assert.equal(first.statusCode, 200, first.body)
    const page = first.json()
    assert.ok(page.items.length > 0)
    assert.ok(page.items.every((item) => item.reasons.length > 0 && item.reasons[0].detail))
    const hidden = page.items[0].id
    const events = await app.inject({
      method: 'POST', url: '/v1/events', headers,
      payload: { events: [{ id: `hide-${randomUUID()}`, item_id: hidden, type: 'hide', occurred_at: new Date().toISOString() }] }
    })
    assert.equal(events.statusCode, 200, events.body)
    assert.equal(events.json().created, 1)
    const next = await app.inject({ url: '/v1/users/u-jason/recommendations?limit=5', headers })
    assert.equal(next.statusCode, 200)
    assert.ok(!next.json().items.some((item) => item.id === hidden), `${hidden} still recommended`)
  })

  test('an event on an unknown item is refused by the API and stored nowhere', async () => {
    const res = await app.inject({
      method: 'POST', url: '/v1/events', headers: await asMember('u-jason'),
      payload: { events: [{ id: `e-${randomUUID()}`, item_id: 'no-such-item', type: 'like', occurred_at: new Date().toISOString() }] }
    })
    assert.equal(res.statusCode, 422, res.body)
  })

  test('feedback on my practice runs to succeeded, followed over SSE through the gateway', async () => {
    const headers = await asMember('u-ling')
    const practices = await app.inject({ url: '/v1/users/u-ling/practices', headers })
    assert.equal(practices.statusCode, 200, practices.body)
    const practice = practices.json().practices[0]
    assert.ok(practice, 'u-ling has demo practices')

    const accepted = await app.inject({
      method: 'POST', url: `/v1/practices/${practice.id}/feedback`, headers,
      payload: { kind: 'weekly_summary', locale: 'en', idempotency_key: `it-${randomUUID()}` }
    })
    assert.equal(accepted.statusCode, 202, accepted.body)
    const { job_id: jobId } = accepted.json()

    const stream = await app.inject({ url: `/v1/feedback/${jobId}/events`, headers })
    assert.equal(stream.statusCode, 200)
    assert.match(stream.headers['content-type'], /text\/event-stream/)
    const names = [...stream.body.matchAll(/^event: (\w+)/gm)].map((m) => m[1])
    assert.equal(names.at(-1), 'succeeded', stream.body)

    const status = await app.inject({ url: `/v1/feedback/${jobId}`, headers })
    assert.equal(status.json().status, 'succeeded')
    assert.ok(status.json().result.message.length > 0)
    const listed = await app.inject({ url: `/v1/practices/${practice.id}/feedback`, headers })
    assert.ok(listed.json().jobs.some((job) => job.job_id === jobId))
  })

  test("another member's practice and jobs are out of reach", async () => {
    const ling = await app.inject({ url: '/v1/users/u-ling/practices', headers: await asMember('u-ling') })
    const practiceId = ling.json().practices[0].id
    const hao = await asMember('u-hao')
    const ask = await app.inject({ method: 'POST', url: `/v1/practices/${practiceId}/feedback`, headers: hao, payload: { kind: 'weekly_summary' } })
    assert.equal(ask.statusCode, 404, ask.body)
    const jobs = await app.inject({ url: `/v1/practices/${practiceId}/feedback`, headers: await asMember('u-ling') })
    const jobId = jobs.json().jobs[0]?.job_id
    assert.ok(jobId, 'the previous test made a job')
    for (const url of [`/v1/feedback/${jobId}`, `/v1/feedback/${jobId}/events`]) {
      assert.equal((await app.inject({ url, headers: hao })).statusCode, 404, url)
    }
  })

  test('the stack gateway process (make run) answers with a session from bin/session-token.js', async () => {
    const script = fileURLToPath(new URL('../../bin/session-token.js', import.meta.url))
    const token = execFileSync(process.execPath, [script, '--user', 'u-mei'], {
      env: { ...process.env, SESSION_JWT_SECRET: '' }
    }).toString().trim()
    const res = await fetch(`${env.STACK_GATEWAY_URL}/v1/users/u-mei/recommendations?limit=3`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'it-stack-1' }
    })
    assert.equal(res.status, 200, await res.clone().text())
    assert.equal(res.headers.get('x-request-id'), 'it-stack-1')
    assert.ok((await res.json()).items.length > 0)
  })
})
