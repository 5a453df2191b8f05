// The gateway: external plugins, then the app's own (errors, client, sessions), then routes.
import { randomUUID } from 'node:crypto'
import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import Fastify, { LogController } from 'fastify'
import ai from './plugins/ai.js'
import errors, { GatewayError } from './plugins/errors.js'
import session from './plugins/session.js'
import consoleRoutes from './routes/console.js'
import health from './routes/health.js'
import v1 from './routes/v1.js'

const REQUEST_ID = 'x-request-id'
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildApp(config, { logger = true } = {}) {
  const app = Fastify({
    logger: logger && {
      level: config.logLevel,
      // Session cookies and bearer tokens never reach the logs.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]']
    },
    // Like the API: a line per request only at debug level. At info, two lines per request would
    // cost more than the forwarding itself (and `daodao-ai run` relays every line).
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace'
    }),
    bodyLimit: config.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers[REQUEST_ID]
      return typeof given === 'string' && VALID_REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    // Unknown fields are refused with 422, not silently dropped (Fastify's default).
    ajv: { customOptions: { removeAdditional: false } }
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID, request.id)
  })

  // External plugins.
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: null
      }
    }
  })
  await app.register(cors, {
    // Off unless origins are listed; credentials, so a listed front end may send the cookie.
    origin: config.corsOrigins.length ? config.corsOrigins : false,
    credentials: true,
    exposedHeaders: [REQUEST_ID, 'retry-after'],
    maxAge: 600
  })
  await app.register(cookie)
  await app.register(rateLimit, {
    max: config.rateLimit,
    timeWindow: 60000,
    // After the session check, so each member has their own budget; before it, each address.
    hook: 'preHandler',
    keyGenerator: (request) => (request.session?.userId ? `member:${request.session.userId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) => new GatewayError(429, 'too_many_requests',
      `rate limit of ${context.max} requests per minute reached; retry in ${Math.ceil(context.ttl / 1000)} s`)
  })

  // The app's own plugins.
  await app.register(errors)
  await app.register(ai, { config })
  await app.register(session, { config })

  // Routes.
  await app.register(health)
  await app.register(v1, { prefix: '/v1' })
  await app.register(consoleRoutes, { config })
  return app
}
