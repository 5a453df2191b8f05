// The client the Node main backend imports to call daodao-ai: one undici pool with keep-alive,
// timeouts on every call, retries where a repeat is safe, a circuit breaker per route family,
// and the last good recommendations to fall back on while the service is down.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'
import CircuitBreaker from 'opossum'
import { Pool } from 'undici'

/** @typedef {import('../types/api.js').components['schemas']} Schemas */
/** @typedef {import('../types/api.js').operations} Operations */
/**
 * @template T
 * @typedef {{ status: number, body: T, requestId: string, headers: Record<string, string | string[] | undefined> }} Result
 */
/**
 * @typedef {object} CallOptions
 * @property {string} [requestId] propagated as X-Request-ID; one is made when missing
 * @property {string} [token] a bearer token for this call instead of the client's
 * @property {number} [headersTimeoutMs] time allowed for the response headers
 * @property {number} [bodyTimeoutMs] time allowed between body chunks
 * @property {AbortSignal} [signal] abort the call
 * @property {Record<string, string>} [headers] extra request headers
 */
/** @typedef {{retryAfter?: number | null, cause?: unknown}} ErrorExtras */

export const FAMILIES = ['search', 'recommend', 'events', 'catalog', 'feedback']
const RETRYABLE_STATUS = new Set([502, 503, 504])
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT'
])
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** The AI service answered with an error, or could not be reached; `code` says which. */
export class AiServiceError extends Error {
  /**
   * @param {number} status
   * @param {any} body the service's error envelope, when it sent one
   * @param {string} requestId
   * @param {ErrorExtras} [extras]
   */
  constructor(status, body, requestId, { retryAfter = null, cause } = {}) {
    super(body?.error?.message ?? `daodao-ai answered ${status}`, cause ? { cause } : undefined)
    this.name = 'AiServiceError'
    this.status = status
    this.code = body?.error?.code ?? 'http_error'
    this.details = body?.error?.details ?? null
    this.requestId = requestId
    /** seconds to wait before trying again, when known */
    this.retryAfter = retryAfter
  }

  /** True when the service failed (5xx, unreachable, slow), not the request: worth trying later. */
  get transient() {
    return this.status >= 500
  }
}

/** The service could not be reached, or did not answer within the time allowed. */
export class AiUnavailableError extends AiServiceError {
  /**
   * @param {'upstream_timeout' | 'upstream_unavailable' | 'circuit_open'} code
   * @param {string} message
   * @param {string} requestId
   * @param {ErrorExtras} [extras]
   */
  constructor(code, message, requestId, { retryAfter = 1, cause } = {}) {
    super(code === 'upstream_timeout' ? 504 : 503, { error: { code, message } }, requestId, { retryAfter, cause })
    this.name = 'AiUnavailableError'
  }
}

/** The family's circuit breaker is open: the call was not made at all. */
export class CircuitOpenError extends AiUnavailableError {
  /** @param {string} family @param {string} requestId @param {number} retryAfter */
  constructor(family, requestId, retryAfter) {
    super('circuit_open', `the AI service's ${family} routes are failing; calls are paused`, requestId, { retryAfter })
    this.name = 'CircuitOpenError'
    this.family = family
  }
}

function retryAfterSeconds(value) {
  const seconds = Number(Array.isArray(value) ? value[0] : value)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null
}

function queryString(params = {}) {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

const segment = (value) => encodeURIComponent(String(value))

/**
 * Make a client. `token` is a bearer string or a function returning one (called per request).
 * @param {object} options
 * @param {string} options.baseUrl the AI service, e.g. http://127.0.0.1:8000
 * @param {string | (() => string | Promise<string>)} [options.token]
 * @param {number} [options.connections] pooled keep-alive connections
 * @param {{connect?: number, headers?: number, body?: number}} [options.timeoutsMs]
 * @param {number} [options.retries] extra attempts for requests that are safe to repeat
 * @param {number} [options.retryBaseMs] first backoff; it doubles, with jitter
 * @param {object} [options.breaker] opossum options shared by every family
 * @param {number} [options.lastGoodEntries] recommendation answers kept for fallback
 * @param {number} [options.lastGoodTtlMs] how long a fallback answer may be served
 */
export function createClient({
  baseUrl,
  token,
  connections = 32,
  timeoutsMs = {},
  retries = 2,
  retryBaseMs = 50,
  breaker = {},
  lastGoodEntries = 5000,
  lastGoodTtlMs = 24 * 3600 * 1000
}) {
  const timeouts = { connect: 2000, headers: 10000, body: 10000, ...timeoutsMs }
  const pool = new Pool(baseUrl, {
    connections,
    connect: { timeout: timeouts.connect },
    headersTimeout: timeouts.headers,
    bodyTimeout: timeouts.body,
    keepAliveTimeout: 30000,
    keepAliveMaxTimeout: 60000
  })
  const breakerOptions = {
    timeout: false, // undici enforces the timeouts, per call
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeout: 5000,
    rollingCountTimeout: 10000,
    ...breaker,
    // Only the service's own failures count against it; a 4xx is the caller's mistake.
    errorFilter: (error) => error instanceof AiServiceError && !error.transient
  }
  const breakers = Object.fromEntries(
    FAMILIES.map((family) => [family, new CircuitBreaker(send, { ...breakerOptions, name: family })])
  )
  const lastGood = new LRUCache({ max: lastGoodEntries, ttl: lastGoodTtlMs })

  async function send(call) {
    const { method, path, body, requestId, headers, options } = call
    const accessToken = options.token ?? (typeof token === 'function' ? await token() : token)
    let response
    try {
      response = await pool.request({
        method,
        path,
        headers: {
          ...headers,
          'x-request-id': requestId,
          ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: options.headersTimeoutMs ?? timeouts.headers,
        bodyTimeout: options.bodyTimeoutMs ?? timeouts.body,
        signal: options.signal
      })
    } catch (error) {
      throw unreachable(error, requestId)
    }
    const echoed = response.headers['x-request-id'] ?? requestId
    if (call.stream && response.statusCode < 400) {
      return { status: response.statusCode, body: response.body, requestId: echoed, headers: response.headers }
    }
    let text
    try {
      text = await response.body.text()
    } catch (error) {
      throw unreachable(error, requestId)
    }
    let parsed = null
    if (text) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = { error: { code: 'bad_upstream_body', message: `daodao-ai answered ${response.statusCode} with a body that is not JSON` } }
      }
    }
    if (response.statusCode >= 400) {
      throw new AiServiceError(response.statusCode, parsed, echoed, {
        retryAfter: retryAfterSeconds(response.headers['retry-after'])
      })
    }
    return { status: response.statusCode, body: parsed, requestId: echoed, headers: response.headers }
  }

  function unreachable(error, requestId) {
    if (error instanceof AiServiceError) return error
    const code = error?.code ?? error?.cause?.code
    if (TIMEOUT_CODES.has(code)) {
      return new AiUnavailableError('upstream_timeout', 'the AI service did not answer in time', requestId, { cause: error })
    }
    if (error?.name === 'AbortError') return error
    if (UNAVAILABLE_CODES.has(code) || error?.code?.startsWith?.('UND_ERR')) {
      return new AiUnavailableError('upstream_unavailable', 'the AI service is unreachable', requestId, { cause: error })
    }
    return error
  }

  function retryAfterOpen(family) {
    const resetMs = breakers[family].options.resetTimeout
    return Math.max(1, Math.ceil(resetMs / 1000))
  }

  /**
   * One logical call: through the family's breaker, with backoff retries when `idempotent`.
   * @param {string} family
   * @param {string} method
   * @param {string} path
   * @param {{body?: unknown, idempotent: boolean, stream?: boolean, options?: CallOptions}} spec
   * @returns {Promise<Result<any>>}
   */
  async function call(family, method, path, { body, idempotent, stream = false, options = {} }) {
    const requestId = options.requestId ?? randomUUID()
    const request = { method, path, body, requestId, headers: options.headers ?? {}, options, stream }
    const attempts = idempotent ? retries + 1 : 1
    for (let attempt = 1; ; attempt++) {
      try {
        return await breakers[family].fire(request)
      } catch (error) {
        if (error?.code === 'EOPENBREAKER') throw new CircuitOpenError(family, requestId, retryAfterOpen(family))
        const failure = unreachable(error, requestId)
        const retryable = failure instanceof AiServiceError && RETRYABLE_STATUS.has(failure.status)
        if (!retryable || attempt >= attempts || options.signal?.aborted) throw failure
        // Exponential backoff with full jitter; a short Retry-After from the service wins.
        const backoff = retryBaseMs * 2 ** (attempt - 1)
        const hinted = failure.retryAfter != null && failure.retryAfter <= 2 ? failure.retryAfter * 1000 : 0
        await sleep(Math.max(hinted, Math.random() * backoff))
      }
    }
  }

  const get = (family, path, options) => call(family, 'GET', path, { idempotent: true, options })

  /** Remember good recommendations; answer from them, marked degraded, while the service fails. */
  async function withLastGood(key, fetch) {
    try {
      const result = await fetch()
      lastGood.set(key, result.body)
      return result
    } catch (error) {
      const kept = error instanceof AiServiceError && error.transient ? lastGood.get(key) : undefined
      if (kept === undefined) throw error
      return { status: 200, body: { ...kept, degraded: true }, requestId: error.requestId, headers: {}, fallback: true }
    }
  }

  /**
   * A job's server-sent events as a raw stream (for forwarding). The body is an undici
   * readable; a quiet stream is cut after `bodyTimeoutMs` (the service pings every 15 s).
   * @param {string} jobId
   * @param {CallOptions} [options]
   * @returns {Promise<Result<import('node:stream').Readable>>}
   */
  const feedbackStream = (jobId, options = {}) =>
    call('feedback', 'GET', `/v1/feedback/${segment(jobId)}/events`, {
      idempotent: true,
      stream: true,
      options: { bodyTimeoutMs: 45000, ...options, headers: { accept: 'text/event-stream' } }
    })

  return {
    /**
     * Hybrid search over public items. Fails fast with CircuitOpenError while search is failing.
     * @param {Operations['search_v1_search_get']['parameters']['query']} query
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['SearchPage']>>}
     */
    search: (query, options) => get('search', `/v1/search${queryString(query)}`, options),

    /**
     * Public items closest in meaning to one item.
     * @param {string} itemId
     * @param {{limit?: number}} [query]
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['SimilarPage']>>}
     */
    similar: (itemId, query, options) =>
      get('search', `/v1/items/${segment(itemId)}/similar${queryString(query)}`, options),

    /**
     * A member's recommendations; while the service fails, the last good answer with `degraded: true`.
     * @param {string} userId
     * @param {{target?: 'items' | 'people', limit?: number, kind?: string[]}} [query]
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['RecommendationPage']> & {fallback?: boolean}>}
     */
    recommendations: (userId, query = {}, options) => {
      const path = `/v1/users/${segment(userId)}/recommendations${queryString(query)}`
      return withLastGood(path, () => get('recommend', path, options))
    },

    /**
     * Recommendations with a body (exclusions); falls back like `recommendations`.
     * @param {Schemas['RecommendQuery']} body
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['RecommendationPage']> & {fallback?: boolean}>}
     */
    recommend: (body, options) =>
      withLastGood(`recommend:${JSON.stringify(body)}`, () =>
        call('recommend', 'POST', '/v1/recommend', { body, idempotent: true, options })),

    /**
     * Record learning-history events (idempotent by event id, so retried).
     * @param {Schemas['Event'][]} events
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['EventsResult']>>}
     */
    sendEvents: (events, options) =>
      call('events', 'POST', '/v1/events', { body: { events }, idempotent: true, options }),

    /**
     * Take an event back (an un-like, an unfollow); with `userId`, only that member's.
     * @param {string} eventId
     * @param {string | null} userId
     * @param {CallOptions} [options]
     * @returns {Promise<Result<null>>}
     */
    retractEvent: (eventId, userId, options) =>
      call('events', 'DELETE', `/v1/events/${segment(eventId)}${queryString(userId ? { user_id: userId } : {})}`, {
        idempotent: true,
        options
      }),

    /**
     * A member's own reactions on each item, with the event ids that retract them.
     * @param {string} userId
     * @param {{item_ids: string}} query
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['ReactionState']>>}
     */
    reactions: (userId, query, options) =>
      get('events', `/v1/users/${segment(userId)}/reactions${queryString(query)}`, options),

    /**
     * Partners for one practice (找夥伴).
     * @param {string} practiceId
     * @param {{limit?: number, locale?: 'zh-TW' | 'en', exclude_ids?: string[]}} [query]
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['PartnerPage']>>}
     */
    partners: (practiceId, query, options) =>
      get('recommend', `/v1/practices/${segment(practiceId)}/partners${queryString(query)}`, options),

    /**
     * @param {string} itemId
     * @param {Schemas['ItemWrite']} item
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['WriteResult']>>}
     */
    upsertItem: (itemId, item, options) =>
      call('catalog', 'PUT', `/v1/items/${segment(itemId)}`, { body: item, idempotent: true, options }),

    /**
     * Upsert up to 1,000 items; each answers for itself.
     * @param {(Schemas['ItemWrite'] & {id: string})[]} items
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['BatchResult']>>}
     */
    upsertItems: (items, options) =>
      call('catalog', 'POST', '/v1/items:batch', { body: { items }, idempotent: true, options }),

    /**
     * @param {string} itemId
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['ItemRead']>>}
     */
    getItem: (itemId, options) => get('catalog', `/v1/items/${segment(itemId)}`, options),

    /** @param {string} itemId @param {CallOptions} [options] @returns {Promise<Result<null>>} */
    deleteItem: (itemId, options) =>
      call('catalog', 'DELETE', `/v1/items/${segment(itemId)}`, { idempotent: true, options }),

    /**
     * @param {string} userId
     * @param {Schemas['UserWrite']} user
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['WriteResult']>>}
     */
    upsertUser: (userId, user, options) =>
      call('catalog', 'PUT', `/v1/users/${segment(userId)}`, { body: user, idempotent: true, options }),

    /**
     * Erase a member everywhere (their rows, vectors and cached answers). Needs a token with
     * the `admin` scope.
     * @param {string} userId @param {CallOptions} [options] @returns {Promise<Result<null>>}
     */
    deleteUser: (userId, options) =>
      call('catalog', 'DELETE', `/v1/users/${segment(userId)}`, { idempotent: true, options }),

    /**
     * A member's practices with their check-in counts.
     * @param {string} userId
     * @param {{limit?: number}} [query]
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['PracticeList']>>}
     */
    userPractices: (userId, query, options) =>
      get('catalog', `/v1/users/${segment(userId)}/practices${queryString(query)}`, options),

    /**
     * @param {string} practiceId
     * @param {Schemas['PracticeWrite']} practice
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['WriteResult']>>}
     */
    upsertPractice: (practiceId, practice, options) =>
      call('catalog', 'PUT', `/v1/practices/${segment(practiceId)}`, { body: practice, idempotent: true, options }),

    /** @param {string} practiceId @param {CallOptions} [options] @returns {Promise<Result<null>>} */
    deletePractice: (practiceId, options) =>
      call('catalog', 'DELETE', `/v1/practices/${segment(practiceId)}`, { idempotent: true, options }),

    /**
     * Record a check-in (idempotent by its id, so retried).
     * @param {string} practiceId
     * @param {Schemas['CheckinWrite']} checkin
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['WriteResult']>>}
     */
    checkin: (practiceId, checkin, options) =>
      call('catalog', 'POST', `/v1/practices/${segment(practiceId)}/checkins`, { body: checkin, idempotent: true, options }),

    /**
     * Delete a check-in: out of history, search and every later feedback prompt.
     * @param {string} practiceId @param {string} checkinId @param {CallOptions} [options]
     * @returns {Promise<Result<null>>}
     */
    deleteCheckin: (practiceId, checkinId, options) =>
      call('catalog', 'DELETE', `/v1/practices/${segment(practiceId)}/checkins/${segment(checkinId)}`, {
        idempotent: true,
        options
      }),

    /**
     * Ask for feedback on a practice. An idempotency key is added when missing, so that a
     * retried request never starts a second generation.
     * @param {string} practiceId
     * @param {Schemas['FeedbackRequest']} request
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['Accepted']>>}
     */
    requestFeedback: (practiceId, request, options) =>
      call('feedback', 'POST', `/v1/practices/${segment(practiceId)}/feedback`, {
        body: { ...request, idempotency_key: request.idempotency_key ?? randomUUID() },
        idempotent: true,
        options
      }),

    /**
     * @param {string} jobId
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['FeedbackJobView']>>}
     */
    feedbackStatus: (jobId, options) => get('feedback', `/v1/feedback/${segment(jobId)}`, options),

    /**
     * @param {string} practiceId
     * @param {{limit?: number}} [query]
     * @param {CallOptions} [options]
     * @returns {Promise<Result<Schemas['FeedbackJobList']>>}
     */
    practiceFeedback: (practiceId, query, options) =>
      get('feedback', `/v1/practices/${segment(practiceId)}/feedback${queryString(query)}`, options),

    feedbackStream,

    /**
     * Follow a job's status events until it ends.
     * @param {string} jobId
     * @param {CallOptions} [options]
     * @returns {AsyncGenerator<{event: string, data: Schemas['FeedbackJobView']}>}
     */
    async * followFeedback(jobId, options) {
      const { body } = await feedbackStream(jobId, options)
      yield * parseEvents(body)
    },

    /** The state of each family's breaker: `closed`, `open` or `halfOpen`. */
    breakerStates: () =>
      Object.fromEntries(FAMILIES.map((family) => {
        const b = breakers[family]
        return [family, b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed']
      })),

    breakers,

    async close() {
      for (const b of Object.values(breakers)) b.shutdown()
      await pool.close()
    }
  }
}

/** Parse a text/event-stream body into `{event, data}` records (comments and pings skipped). */
export async function * parseEvents(body) {
  let buffer = ''
  for await (const chunk of body) {
    buffer += chunk.toString()
    let end
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
      let event = 'message'
      const data = []
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (data.length) yield { event, data: JSON.parse(data.join('\n')) }
    }
  }
}
