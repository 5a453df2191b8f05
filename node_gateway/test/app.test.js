import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { buildApp } from '../src/app.js'
import { AiServiceError, createClient } from '../src/client.js'
import { loadConfig } from '../src/config.js'

// A real HTTP server stands in for the AI service: it echoes what reached it.
async function startEcho() {
  const server = createServer(async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const echo = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString()
    }
    if (!req.headers.authorization || req.headers.authorization === 'Bearer denied') {
      res.writeHead(401, { 'content-type': 'application/json', 'x-request-id': req.headers['x-request-id'] })
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'missing bearer token', details: null }, request_id: req.headers['x-request-id'] }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' })
    res.end(JSON.stringify(echo))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

describe('gateway', () => {
  let upstream
  let app

  before(async () => {
    upstream = await startEcho()
    const config = loadConfig({ AI_API_URL: `http://127.0.0.1:${upstream.address().port}` })
    app = buildApp(config, { logger: false })
  })

  after(async () => {
    await app.close()
    upstream.close()
  })

  test('healthz answers with a request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'ok' })
    assert.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  })

  test('forwards method, path, query, body, auth and request id', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/search?q=%E5%BE%B7%E8%AA%9E',
      headers: { authorization: 'Bearer abc', 'x-request-id': 'req-42', 'content-type': 'application/json' },
      payload: { query: '德語' }
    })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['x-request-id'], 'req-42')
    const echo = res.json()
    assert.equal(echo.method, 'POST')
    assert.equal(echo.url, '/v1/search?q=%E5%BE%B7%E8%AA%9E')
    assert.equal(echo.headers.authorization, 'Bearer abc')
    assert.equal(echo.headers['x-request-id'], 'req-42')
    assert.deepEqual(JSON.parse(echo.body), { query: '德語' })
  })

  test('passes the upstream error envelope through unchanged', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/system/whoami' })
    assert.equal(res.statusCode, 401)
    assert.equal(res.json().error.code, 'unauthorized')
    assert.equal(res.json().request_id, res.headers['x-request-id'])
  })

  test('replaces a malformed request id instead of forwarding it', async () => {
    const res = await app.inject({
      method: 'GET', url: '/v1/x', headers: { authorization: 'Bearer a', 'x-request-id': 'bad id\twith spaces' }
    })
    assert.notEqual(res.headers['x-request-id'], 'bad id\twith spaces')
    assert.equal(res.json().headers['x-request-id'], res.headers['x-request-id'])
  })

  test('unknown routes get the JSON error envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' })
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().error.code, 'not_found')
  })

  test('an unreachable AI service gives 502 in the envelope', async () => {
    const dead = createServer()
    dead.listen(0, '127.0.0.1')
    await once(dead, 'listening')
    const port = dead.address().port
    dead.close()
    await once(dead, 'close')
    const lonely = buildApp(loadConfig({ AI_API_URL: `http://127.0.0.1:${port}` }), { logger: false })
    const res = await lonely.inject({ method: 'GET', url: '/v1/system/whoami' })
    await lonely.close()
    assert.equal(res.statusCode, 502)
    assert.equal(res.json().error.code, 'upstream_unavailable')
  })
})

describe('config', () => {
  test('defaults', () => {
    const config = loadConfig({})
    assert.equal(config.port, 3000)
    assert.equal(config.upstream, 'http://127.0.0.1:8000')
  })

  test('rejects a bad port and a bad upstream with a readable message', () => {
    assert.throws(() => loadConfig({ PORT: 'abc' }), /PORT must be a whole number/)
    assert.throws(() => loadConfig({ AI_API_URL: 'ftp://x' }), /AI_API_URL must be an http/)
  })
})

describe('client', () => {
  let upstream
  let baseUrl

  before(async () => {
    upstream = await startEcho()
    baseUrl = `http://127.0.0.1:${upstream.address().port}`
  })

  after(() => upstream.close())

  test('sends the token and a request id, and parses JSON', async () => {
    const client = createClient({ baseUrl, token: async () => 'tok' })
    const { status, body, requestId } = await client.post('/v1/things', { a: 1 }, { requestId: 'r-1' })
    await client.close()
    assert.equal(status, 200)
    assert.equal(requestId, 'r-1')
    assert.equal(body.headers.authorization, 'Bearer tok')
    assert.deepEqual(JSON.parse(body.body), { a: 1 })
  })

  test('raises AiServiceError carrying the envelope', async () => {
    const client = createClient({ baseUrl, token: 'denied' })
    try {
      await assert.rejects(client.get('/v1/x', { requestId: 'r-2' }), (error) => {
        assert.ok(error instanceof AiServiceError)
        assert.equal(error.status, 401)
        assert.equal(error.code, 'unauthorized')
        assert.equal(error.requestId, 'r-2')
        return true
      })
    } finally {
      await client.close()
    }
  })
})
