// The AI service client, one per gateway, as `app.ai`; its pool closes with the app.
import fp from 'fastify-plugin'
import { createClient } from '../client.js'

export default fp(async function ai(app, { config }) {
  const client = createClient({
    baseUrl: config.upstream,
    connections: config.connections,
    timeoutsMs: { connect: config.connectTimeoutMs, headers: config.timeoutMs, body: config.timeoutMs },
    retries: config.retries,
    breaker: { resetTimeout: config.breakerResetMs }
  })
  for (const [family, breaker] of Object.entries(client.breakers)) {
    breaker.on('open', () => app.log.warn({ family }, 'circuit opened: the AI service is failing'))
    breaker.on('halfOpen', () => app.log.info({ family }, 'circuit half-open: trying the AI service'))
    breaker.on('close', () => app.log.info({ family }, 'circuit closed: the AI service answers again'))
  }
  app.decorate('ai', client)
  app.addHook('onClose', async () => client.close())
}, { name: 'ai' })
