// Shared pieces of the Node tests: a recording upstream, configs, session tokens.
import { once } from 'node:events'
import { createServer } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { buildApp } from '../src/app.js'
import { signSession } from '../src/auth.js'
import { loadConfig } from '../src/config.js'

export const SERVICE_SECRET = 'service-secret-for-tests-0123456789abcdef'
export const SESSION_SECRET = 'session-secret-for-tests-0123456789abcdef'

/**
 * A real HTTP server standing in for the AI service in unit tests. `handler(req, body)` returns
 * `{status, body, headers, delayMs}`; by default it echoes what reached it. Every request is kept.
 */
export async function startUpstream(handler) {
  const seen = []
  const server = createServer(async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const text = Buffer.concat(chunks).toString()
    const request = { method: req.method, url: req.url, headers: req.headers, body: text ? JSON.parse(text) : null }
    seen.push(request)
    const answer = (await handler?.(request, seen.length)) ?? { status: 200, body: request }
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs))
    if (res.destroyed) return
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}

export function testConfig(env = {}) {
  return loadConfig({
    JWT_SECRET: SERVICE_SECRET,
    SESSION_JWT_SECRET: SESSION_SECRET,
    GATEWAY_RETRIES: '0',
    ...env
  })
}

export const gateway = (env = {}) => buildApp(testConfig(env), { logger: false })

/** A session token for a member; `secret` defaults to the unit tests' own. */
export const sessionFor = (userId, { secret = SESSION_SECRET, ...options } = {}) =>
  signSession(secret, userId, options)

export async function bearer(userId, options) {
  return { authorization: `Bearer ${await sessionFor(userId, options)}` }
}

/** Poll `check` until it returns a truthy value, or fail after `ms`. */
export async function eventually(check, { ms = 10000, every = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

/** A port nothing listens on right now. */
export async function freePort() {
  const server = createTcpServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}
