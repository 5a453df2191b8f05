import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT, jwtVerify } from 'jose'
import { loadConfig } from '../src/config.js'
import { SERVICE_SECRET, SESSION_SECRET, bearer, gateway, sessionFor, startUpstream } from './helpers.js'

const encode = (text) => new TextEncoder().encode(text)

describe('gateway', () => {
  let upstream
  let app

  before(async () => {
    upstream = await startUpstream()
    app = await gateway({ AI_API_URL: upstream.url, GATEWAY_DEV_LOGIN: 'true' })
  })

  after(async () => {
    await app.close()
    await upstream.close()
  })

  test('healthz and readyz answer without a session, with security headers', async () => {
    const health = await app.inject({ url: '/healthz' })
    assert.equal(health.statusCode, 200)
    assert.match(health.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    assert.equal(health.headers['x-content-type-options'], 'nosniff')
    assert.match(health.headers['content-security-policy'], /default-src 'self'/)
    const ready = await app.inject({ url: '/readyz' })
    assert.equal(ready.statusCode, 200)
    assert.equal(ready.json().breakers.search, 'closed')
  })

  test('forwards a search with a minted read token, never the session', async () => {
    const session = await sessionFor('u-mei')
    const before = upstream.seen.length
    const res = await app.inject({
      url: '/v1/search?q=%E5%BE%B7%E8%AA%9E&kind=course&kind=book&limit=5',
      headers: { authorization: `Bearer ${session}`, 'x-request-id': 'req-42' }
    })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.headers['x-request-id'], 'req-42')
    const reached = upstream.seen[before]
    assert.equal(reached.url, '/v1/search?q=%E5%BE%B7%E8%AA%9E&kind=course&kind=book&limit=5')
    assert.equal(reached.headers['x-request-id'], 'req-42')
    const token = reached.headers.authorization.replace('Bearer ', '')
    assert.notEqual(token, session)
    const { payload } = await jwtVerify(token, encode(SERVICE_SECRET), { issuer: 'daodao-ai' })
    assert.equal(payload.scope, 'read')
    assert.equal(payload.sub, 'member:u-mei')
    assert.ok(payload.exp - payload.iat <= 300)
  })

  test('events get a write token and the signed-in member as user_id', async () => {
    const before = upstream.seen.length
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: await bearer('u-mei'),
      payload: { events: [{ id: 'e1', item_id: 'res-1', type: 'hide', occurred_at: '2026-11-22T10:00:00+08:00' }] }
    })
    assert.equal(res.statusCode, 200, res.body)
    const reached = upstream.seen[before]
    assert.equal(reached.body.events[0].user_id, 'u-mei')
    const { payload } = await jwtVerify(reached.headers.authorization.slice(7), encode(SERVICE_SECRET))
    assert.equal(payload.scope, 'write')
  })

  test('the session may come from the auth_token cookie', async () => {
    const res = await app.inject({ url: '/v1/search?q=x', cookies: { auth_token: await sessionFor('u-ling') } })
    assert.equal(res.statusCode, 200, res.body)
  })

  for (const [name, headers] of [
    ['no session', async () => ({})],
    ['a malformed header', async () => ({ authorization: 'Token abc' })],
    ['a bad signature', async () => ({ authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u-mei').setExpirationTime('1h').sign(encode('another-secret-another-secret-xx'))}` })],
    ['an expired session', async () => ({ authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u-mei').setIssuedAt(1000).setExpirationTime(2000).sign(encode(SESSION_SECRET))}` })],
    ['alg none', async () => {
      const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
      return { authorization: `Bearer ${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'u-mei', exp: 4102444800 })}.` }
    }],
    ['a service token instead of a session', async () => ({ authorization: `Bearer ${await new SignJWT({ scope: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u-mei').setExpirationTime('1h').sign(encode(SERVICE_SECRET))}` })]
  ]) {
    test(`401 for ${name}, and nothing reaches the AI service`, async () => {
      const before = upstream.seen.length
      const res = await app.inject({ url: '/v1/search?q=x', headers: await headers() })
      assert.equal(res.statusCode, 401, res.body)
      assert.equal(res.json().error.code, 'unauthorized')
      assert.equal(res.json().request_id, res.headers['x-request-id'])
      assert.equal(upstream.seen.length, before)
    })
  }

  test('a session naming no member is anonymous: it may search, nothing more', async () => {
    const anonymous = { authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(encode(SESSION_SECRET))}` }
    const before = upstream.seen.length
    const search = await app.inject({ url: '/v1/search?kind=practice&sort=updated', headers: anonymous })
    assert.equal(search.statusCode, 200, search.body)
    const { payload } = await jwtVerify(upstream.seen[before].headers.authorization.slice(7), encode(SERVICE_SECRET))
    assert.equal(payload.sub, 'anonymous')
    assert.equal(payload.scope, 'read')
    for (const [method, url] of [['GET', '/v1/users/u-mei/recommendations'], ['POST', '/v1/events'], ['DELETE', '/v1/events/e1']]) {
      const res = await app.inject({ method, url, headers: anonymous, payload: method === 'POST' ? { events: [] } : undefined })
      assert.equal(res.statusCode, 401, url)
      assert.match(res.json().error.message, /signed-in member/)
    }
    assert.equal(upstream.seen.length, before + 1)
  })

  test('reactions, retraction and partners are the member\'s own', async () => {
    const headers = await bearer('u-mei')
    const before = upstream.seen.length
    const retract = await app.inject({ method: 'DELETE', url: '/v1/events/e-like-1', headers })
    assert.equal(retract.statusCode, 200, retract.body)
    assert.equal(upstream.seen[before].url, '/v1/events/e-like-1?user_id=u-mei')
    const state = await app.inject({ url: '/v1/users/u-mei/reactions?item_ids=a,b', headers })
    assert.equal(state.statusCode, 200, state.body)
    assert.equal(upstream.seen[before + 1].url, '/v1/users/u-mei/reactions?item_ids=a%2Cb')
    const others = await app.inject({ url: '/v1/users/u-ling/reactions?item_ids=a', headers })
    assert.equal(others.statusCode, 403)
    const bad = await app.inject({ url: '/v1/users/u-mei/reactions?item_ids=a%20b', headers })
    assert.equal(bad.statusCode, 422)
  })

  test("403 for another member's recommendations, practices or events", async () => {
    const headers = await bearer('u-mei')
    for (const url of ['/v1/users/u-ling/recommendations', '/v1/users/u-ling/practices']) {
      const res = await app.inject({ url, headers })
      assert.equal(res.statusCode, 403, url)
      assert.equal(res.json().error.code, 'forbidden')
    }
    const res = await app.inject({
      method: 'POST', url: '/v1/events', headers,
      payload: { events: [{ id: 'e2', user_id: 'u-ling', item_id: 'res-1', type: 'like', occurred_at: '2026-11-22T10:00:00Z' }] }
    })
    assert.equal(res.statusCode, 403)
    assert.match(res.json().error.message, /events\[e2\]\.user_id/)
  })

  for (const [what, request, where] of [
    ['a limit over the cap', { url: '/v1/search?q=x&limit=51' }, 'querystring.limit'],
    ['an empty query', { url: '/v1/search?q=' }, 'querystring.q'],
    ['an unknown kind', { url: '/v1/search?q=x&kind=podcast' }, 'querystring.kind'],
    ['an unknown parameter', { url: '/v1/search?q=x&admin=1' }, 'querystring.admin'],
    ['a bad member id', { url: '/v1/users/bad%20id/recommendations' }, 'params.userId'],
    ['a job id that is not a uuid', { url: '/v1/feedback/42' }, 'params.jobId'],
    ['an event with an unknown type', { method: 'POST', url: '/v1/events', payload: { events: [{ id: 'e', item_id: 'i', type: 'love', occurred_at: '2026-11-22T10:00:00Z' }] } }, 'body.events.0.type'],
    ['an event with a bad date', { method: 'POST', url: '/v1/events', payload: { events: [{ id: 'e', item_id: 'i', type: 'like', occurred_at: 'yesterday' }] } }, 'body.events.0.occurred_at'],
    ['too many events', { method: 'POST', url: '/v1/events', payload: { events: Array.from({ length: 101 }, (_, i) => ({ id: `e${i}`, item_id: 'i', type: 'like', occurred_at: '2026-11-22T10:00:00Z' })) } }, 'body.events'],
    ['a feedback request with a callback url', { method: 'POST', url: '/v1/practices/p-1/feedback', payload: { kind: 'weekly_summary', callback_url: 'http://evil.example' } }, 'body.callback_url'],
    ['a feedback request without a kind', { method: 'POST', url: '/v1/practices/p-1/feedback', payload: { locale: 'en' } }, 'body.kind']
  ]) {
    test(`422 naming the field for ${what}; nothing is forwarded`, async () => {
      const before = upstream.seen.length
      const res = await app.inject({ ...request, headers: await bearer('u-mei') })
      assert.equal(res.statusCode, 422, res.body)
      assert.equal(res.json().error.code, 'validation_error')
      assert.ok(res.json().error.message.startsWith(where), res.json().error.message)
      assert.equal(upstream.seen.length, before)
    })
  }

  test('malformed JSON and oversized bodies get the envelope', async () => {
    const headers = { ...(await bearer('u-mei')), 'content-type': 'application/json' }
    const broken = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: '{"events": [' })
    assert.equal(broken.statusCode, 400)
    assert.equal(broken.json().error.code, 'bad_request')
    const huge = await app.inject({ method: 'POST', url: '/v1/events', headers, payload: JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 1) }) })
    assert.equal(huge.statusCode, 413)
    assert.equal(huge.json().error.code, 'payload_too_large')
  })

  test('the upstream error envelope passes through with its status', async () => {
    const failing = await startUpstream(() => ({ status: 404, body: { error: { code: 'unknown_user', message: "no user with id 'u-x'", details: null }, request_id: 'theirs' } }))
    const local = await gateway({ AI_API_URL: failing.url })
    try {
      const res = await local.inject({ url: '/v1/users/u-x/recommendations', headers: { ...(await bearer('u-x')), 'x-request-id': 'mine' } })
      assert.equal(res.statusCode, 404)
      assert.deepEqual(res.json(), { error: { code: 'unknown_user', message: "no user with id 'u-x'", details: null }, request_id: 'mine' })
    } finally {
      await local.close()
      await failing.close()
    }
  })

  test('unknown routes get the JSON envelope', async () => {
    const res = await app.inject({ url: '/nope' })
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().error.code, 'not_found')
  })

  test('an unknown /v1 route is 401 to strangers and 404 to members; nothing is forwarded', async () => {
    const before = upstream.seen.length
    const stranger = await app.inject({ method: 'DELETE', url: '/v1/users/u-mei' })
    assert.equal(stranger.statusCode, 401)
    const member = await app.inject({ method: 'DELETE', url: '/v1/users/u-mei', headers: await bearer('u-mei') })
    assert.equal(member.statusCode, 404)
    assert.equal(member.json().error.message, 'no route DELETE /v1/users/u-mei')
    assert.equal((await app.inject({ url: '/v1/admin/reindex', headers: await bearer('u-mei') })).statusCode, 404)
    assert.equal(upstream.seen.length, before)
  })

  test('dev login sets an HttpOnly session cookie for a demo member only', async () => {
    const res = await app.inject({ method: 'POST', url: '/console/session', payload: { user_id: 'u-mei' } })
    assert.equal(res.statusCode, 200, res.body)
    const cookie = res.cookies.find((c) => c.name === 'auth_token')
    assert.ok(cookie.httpOnly)
    assert.equal(cookie.sameSite, 'Strict')
    const me = await app.inject({ url: '/console/me', cookies: { auth_token: cookie.value } })
    assert.deepEqual(me.json(), { user_id: 'u-mei', dev_login: true })
    const stranger = await app.inject({ method: 'POST', url: '/console/session', payload: { user_id: 'u-nobody' } })
    assert.equal(stranger.statusCode, 404)
  })

  test('the console page is served', async () => {
    const res = await app.inject({ url: '/' })
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'], /text\/html/)
    assert.match(res.body, /<script type="module" src="\/console.js">/)
  })
})

describe('gateway without dev login', () => {
  test('offers no way to sign in as someone', async () => {
    const app = await gateway({ AI_API_URL: 'http://127.0.0.1:9' })
    const res = await app.inject({ method: 'POST', url: '/console/session', payload: { user_id: 'u-mei' } })
    await app.close()
    assert.equal(res.statusCode, 404)
  })
})

describe('CORS', () => {
  test('is off by default: no allow-origin header', async () => {
    const app = await gateway({ AI_API_URL: 'http://127.0.0.1:9' })
    const res = await app.inject({ method: 'OPTIONS', url: '/v1/search', headers: { origin: 'https://app.daodao.example', 'access-control-request-method': 'GET' } })
    await app.close()
    assert.equal(res.headers['access-control-allow-origin'], undefined)
  })

  test('answers listed origins only, with credentials', async () => {
    const app = await gateway({ AI_API_URL: 'http://127.0.0.1:9', GATEWAY_CORS_ORIGINS: 'https://app.daodao.example' })
    try {
      const allowed = await app.inject({ method: 'OPTIONS', url: '/v1/search', headers: { origin: 'https://app.daodao.example', 'access-control-request-method': 'GET' } })
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.daodao.example')
      assert.equal(allowed.headers['access-control-allow-credentials'], 'true')
      const other = await app.inject({ method: 'OPTIONS', url: '/v1/search', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
      assert.equal(other.headers['access-control-allow-origin'], undefined)
    } finally {
      await app.close()
    }
  })
})

describe('rate limits', () => {
  test('each member has their own budget; over it, 429 with Retry-After', async () => {
    const upstream = await startUpstream()
    const app = await gateway({ AI_API_URL: upstream.url, GATEWAY_RATE_LIMIT: '3' })
    try {
      const mei = await bearer('u-mei')
      const codes = []
      for (let i = 0; i < 4; i++) codes.push((await app.inject({ url: '/v1/search?q=x', headers: mei })).statusCode)
      assert.deepEqual(codes, [200, 200, 200, 429])
      const limited = await app.inject({ url: '/v1/search?q=x', headers: mei })
      assert.equal(limited.json().error.code, 'too_many_requests')
      assert.ok(Number(limited.headers['retry-after']) > 0)
      assert.equal((await app.inject({ url: '/v1/search?q=x', headers: await bearer('u-ling') })).statusCode, 200)
      assert.equal(upstream.seen.length, 4)
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
    } finally {
      await app.close()
      await upstream.close()
    }
  })
})

describe('config', () => {
  const secrets = { JWT_SECRET: SERVICE_SECRET, SESSION_JWT_SECRET: SESSION_SECRET }

  test('defaults', () => {
    const config = loadConfig(secrets)
    assert.equal(config.port, 3000)
    assert.equal(config.upstream, 'http://127.0.0.1:8000')
    assert.deepEqual(config.corsOrigins, [])
    assert.equal(config.devLogin, false)
  })

  test('rejects bad values with a message naming the variable', () => {
    assert.throws(() => loadConfig({ ...secrets, PORT: 'abc' }), /PORT must be a whole number/)
    assert.throws(() => loadConfig({ ...secrets, AI_API_URL: 'ftp://x' }), /AI_API_URL must be an http/)
    assert.throws(() => loadConfig({ SESSION_JWT_SECRET: SESSION_SECRET }), /JWT_SECRET must be set/)
    assert.throws(() => loadConfig({ ...secrets, SESSION_JWT_SECRET: 'short' }), /SESSION_JWT_SECRET must be at least 32/)
    assert.throws(() => loadConfig({ ...secrets, GATEWAY_CORS_ORIGINS: 'https://a.example/' }), /bare origins/)
    assert.throws(() => loadConfig({ ...secrets, GATEWAY_DEV_LOGIN: 'maybe' }), /GATEWAY_DEV_LOGIN must be true or false/)
    assert.throws(() => loadConfig({ ...secrets, LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of/)
    assert.throws(() => loadConfig({ ...secrets, SESSION_MEMBER_CLAIM: 'a b' }), /SESSION_MEMBER_CLAIM must name a JWT claim/)
    assert.equal(loadConfig(secrets).sessionMemberClaim, 'sub')
  })

  test("takes the Python side's log level names", () => {
    assert.equal(loadConfig({ ...secrets, LOG_LEVEL: 'WARNING' }).logLevel, 'warn')
    assert.equal(loadConfig({ ...secrets, LOG_LEVEL: 'DEBUG' }).logLevel, 'debug')
  })
})

describe("DaoDao's own sessions", () => {
  // Exactly what DaoDao's main backend signs: HS256, member in `_id` (a UUID) with the numeric
  // `id`, `username`, `isTemp`, `roles`, seven days to `exp`, and neither `sub` nor `iss`.
  const MEMBER = '3f6c2a9e-8d41-4b7a-9c55-1e2f3a4b5c6d'
  const daodaoSession = (claims = {}) =>
    new SignJWT({ id: 1024, _id: MEMBER, username: 'mei', isTemp: false, roles: ['user'], ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('7d')
      .sign(encode(SESSION_SECRET))
  let upstream
  let app

  before(async () => {
    upstream = await startUpstream()
    app = await gateway({ AI_API_URL: upstream.url, SESSION_MEMBER_CLAIM: '_id' })
  })

  after(async () => {
    await app.close()
    await upstream.close()
  })

  test('a DaoDao session names its member by _id', async () => {
    const headers = { authorization: `Bearer ${await daodaoSession()}` }
    const before = upstream.seen.length
    const res = await app.inject({ url: `/v1/users/${MEMBER}/recommendations`, headers })
    assert.equal(res.statusCode, 200, res.body)
    const reached = upstream.seen[before]
    assert.equal(reached.url, `/v1/users/${MEMBER}/recommendations`)
    const { payload } = await jwtVerify(reached.headers.authorization.slice(7), encode(SERVICE_SECRET))
    assert.equal(payload.sub, `member:${MEMBER}`)
    // In the cookie DaoDao's front end keeps it in, too; another member's list stays closed.
    const cookie = await app.inject({ url: '/v1/users/someone-else/recommendations', cookies: { auth_token: await daodaoSession() } })
    assert.equal(cookie.statusCode, 403)
  })

  test("a temporary user's session is anonymous: search only", async () => {
    const temp = { authorization: `Bearer ${await daodaoSession({ isTemp: true, _id: undefined, id: undefined })}` }
    const search = await app.inject({ url: '/v1/search?q=%E6%97%A5%E6%96%87', headers: temp })
    assert.equal(search.statusCode, 200, search.body)
    const own = await app.inject({ url: `/v1/users/${MEMBER}/recommendations`, headers: temp })
    assert.equal(own.statusCode, 401)
    // isTemp alone is enough, whatever else the token says.
    const flagged = { authorization: `Bearer ${await daodaoSession({ isTemp: true })}` }
    assert.equal((await app.inject({ url: `/v1/users/${MEMBER}/practices`, headers: flagged })).statusCode, 401)
  })

  test('an _id that is not a member id, a foreign signature or an expired session is refused', async () => {
    const bad = { authorization: `Bearer ${await daodaoSession({ _id: 'not an id!' })}` }
    const res = await app.inject({ url: '/v1/search?q=x', headers: bad })
    assert.equal(res.statusCode, 401)
    assert.match(res.json().error.message, /_id is not a member id/)
    const foreign = await new SignJWT({ _id: MEMBER }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('7d')
      .sign(encode('another-secret-another-secret-xx'))
    assert.equal((await app.inject({ url: '/v1/search?q=x', headers: { authorization: `Bearer ${foreign}` } })).statusCode, 401)
    const expired = await new SignJWT({ _id: MEMBER }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(1000).setExpirationTime(2000)
      .sign(encode(SESSION_SECRET))
    assert.equal((await app.inject({ url: '/v1/search?q=x', headers: { authorization: `Bearer ${expired}` } })).statusCode, 401)
  })
})
