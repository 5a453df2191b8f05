// The /v1 routes end users reach through the gateway. Each checks the session, narrows what the
// member may ask for, then calls the AI service through the client with a minted service token.
import { LRUCache } from 'lru-cache'
import { GatewayError } from '../plugins/errors.js'
import {
  EventParams, EventsBody, FeedbackBody, ItemParams, JobParams, LimitQuery, PartnersQuery, PracticeParams,
  ReactionsQuery, RecommendationsQuery, SearchQuery, UserParams
} from '../schemas.js'

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no'
}
// A member's practice ids, briefly, so ownership checks rarely cost a call.
const OWNED_TTL_MS = 30000

function ownUser(request, userId) {
  if (userId !== request.session.userId) {
    throw new GatewayError(403, 'forbidden', 'you can only ask about your own account')
  }
}

export default async function v1(app) {
  const owned = new LRUCache({ max: 10000, ttl: OWNED_TTL_MS })
  const streams = new Set()

  app.addHook('onRequest', app.authenticate)
  // Open event streams end when the gateway shuts down, so that close() does not wait on them.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.destroy()
  })

  /** Call the AI service as this member with one scope; the request id travels along. */
  const as = async (request, scope) => ({ token: await app.serviceToken(request, scope), requestId: request.id })

  async function ownPractice(request, practiceId) {
    const userId = request.session.userId
    const known = owned.get(userId)
    if (known?.has(practiceId)) return
    const { body } = await app.ai.userPractices(userId, { limit: 100 }, await as(request, 'read'))
    const ids = new Set(body.practices.map((p) => p.id))
    owned.set(userId, ids)
    if (!ids.has(practiceId)) {
      throw new GatewayError(404, 'not_found', `you have no practice with id '${practiceId}'`)
    }
  }

  async function ownJob(request, jobId) {
    const result = await app.ai.feedbackStatus(jobId, await as(request, 'read'))
    await ownPractice(request, result.body.practice_id)
    return result
  }

  const relay = (reply, result) => {
    reply.code(result.status)
    if (result.fallback) reply.header('warning', '110 - "served from the last good answer"')
    return result.body
  }

  // Public reads: a temporary (anonymous) session may browse and search too.
  const PUBLIC = { anonymous: true }

  app.get('/search', { schema: { querystring: SearchQuery }, config: PUBLIC }, async (request, reply) =>
    relay(reply, await app.ai.search(request.query, await as(request, 'read'))))

  app.get('/items/:itemId/similar', { schema: { params: ItemParams, querystring: LimitQuery }, config: PUBLIC },
    async (request, reply) =>
      relay(reply, await app.ai.similar(request.params.itemId, request.query, await as(request, 'read'))))

  app.get('/users/:userId/recommendations', { schema: { params: UserParams, querystring: RecommendationsQuery } },
    async (request, reply) => {
      ownUser(request, request.params.userId)
      return relay(reply, await app.ai.recommendations(request.params.userId, request.query, await as(request, 'read')))
    })

  app.get('/users/:userId/practices', { schema: { params: UserParams, querystring: LimitQuery } },
    async (request, reply) => {
      ownUser(request, request.params.userId)
      return relay(reply, await app.ai.userPractices(request.params.userId, request.query, await as(request, 'read')))
    })

  app.post('/events', { schema: { body: EventsBody } }, async (request, reply) => {
    const userId = request.session.userId
    const events = request.body.events.map((event) => {
      if (event.user_id !== undefined && event.user_id !== userId) {
        throw new GatewayError(403, 'forbidden', `events[${event.id}].user_id: you can only record your own events`)
      }
      return { ...event, user_id: userId }
    })
    return relay(reply, await app.ai.sendEvents(events, await as(request, 'write')))
  })

  // Un-like, unfollow: only the member's own events are taken back.
  app.delete('/events/:eventId', { schema: { params: EventParams } }, async (request, reply) =>
    relay(reply, await app.ai.retractEvent(request.params.eventId, request.session.userId, await as(request, 'write'))))

  app.get('/users/:userId/reactions', { schema: { params: UserParams, querystring: ReactionsQuery } },
    async (request, reply) => {
      ownUser(request, request.params.userId)
      return relay(reply, await app.ai.reactions(request.params.userId, request.query, await as(request, 'read')))
    })

  app.get('/practices/:practiceId/partners', { schema: { params: PracticeParams, querystring: PartnersQuery } },
    async (request, reply) => {
      await ownPractice(request, request.params.practiceId)
      return relay(reply, await app.ai.partners(request.params.practiceId, request.query, await as(request, 'read')))
    })

  app.post('/practices/:practiceId/feedback', { schema: { params: PracticeParams, body: FeedbackBody } },
    async (request, reply) => {
      await ownPractice(request, request.params.practiceId)
      return relay(reply, await app.ai.requestFeedback(request.params.practiceId, request.body, await as(request, 'write')))
    })

  app.get('/practices/:practiceId/feedback', { schema: { params: PracticeParams, querystring: LimitQuery } },
    async (request, reply) => {
      await ownPractice(request, request.params.practiceId)
      return relay(reply, await app.ai.practiceFeedback(request.params.practiceId, request.query, await as(request, 'read')))
    })

  app.get('/feedback/:jobId', { schema: { params: JobParams } }, async (request, reply) =>
    relay(reply, await ownJob(request, request.params.jobId)))

  // Any other /v1 path: after the session check, so that strangers learn nothing of the routes.
  app.all('/*', async (request) => {
    throw new GatewayError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`)
  })

  app.get('/feedback/:jobId/events', { schema: { params: JobParams } }, async (request, reply) => {
    await ownJob(request, request.params.jobId)
    const upstream = await app.ai.feedbackStream(request.params.jobId, await as(request, 'read'))
    streams.add(upstream.body)
    upstream.body.once('close', () => streams.delete(upstream.body))
    reply.code(200).headers(SSE_HEADERS)
    return reply.send(upstream.body)
  })
}
