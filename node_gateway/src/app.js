// The gateway app: request ids, a health check, and /v1/* forwarded to the AI service.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { Pool } from 'undici'

const REQUEST_ID = 'x-request-id'
// Server-sent-event streams stay quiet between status changes; the AI service sends a comment
// every 15 s, so a stream is only dead after three missed ones.
const EVENT_STREAM = /^\/v1\/feedback\/[^/?]+\/events(\?|$)/
const EVENT_STREAM_IDLE_MS = 45000
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
// Hop-by-hop headers describe one connection and must not be forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'content-length'
])

export function errorBody(code, message, requestId, details = null) {
  return { error: { code, message, details }, request_id: requestId }
}

function forwardable(headers) {
  const out = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value
  }
  return out
}

export function buildApp(config, { logger = true } = {}) {
  const app = Fastify({
    logger: logger && { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers[REQUEST_ID]
      return typeof given === 'string' && VALID_REQUEST_ID.test(given) ? given : randomUUID()
    }
  })
  const pool = new Pool(config.upstream, {
    connections: config.connections,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    keepAliveTimeout: 30000
  })

  // Bodies pass through untouched: the AI service validates them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID, request.id)
  })
  app.addHook('onClose', async () => {
    await pool.close()
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`, request.id))
  })
  app.setErrorHandler((error, request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({ err: error }, 'gateway error')
    const code = status === 413 ? 'payload_too_large' : status === 500 ? 'internal_error' : 'bad_request'
    reply.code(status).send(errorBody(code, status === 500 ? 'gateway error' : error.message, request.id))
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.all('/v1/*', async (request, reply) => {
    const headers = forwardable(request.headers)
    headers[REQUEST_ID] = request.id
    let upstream
    try {
      upstream = await pool.request({
        method: request.method,
        path: request.url,
        headers,
        body: request.body ?? undefined,
        ...(EVENT_STREAM.test(request.url) ? { bodyTimeout: EVENT_STREAM_IDLE_MS } : {})
      })
    } catch (error) {
      request.log.warn({ err: error }, 'upstream request failed')
      const timedOut = error.code === 'UND_ERR_HEADERS_TIMEOUT'
      return reply
        .code(timedOut ? 504 : 502)
        .send(errorBody(
          timedOut ? 'upstream_timeout' : 'upstream_unavailable',
          timedOut ? 'the AI service did not answer in time' : 'the AI service is unreachable',
          request.id
        ))
    }
    reply.code(upstream.statusCode).headers(forwardable(upstream.headers))
    reply.header(REQUEST_ID, request.id)
    return reply.send(upstream.body)
  })

  return app
}
