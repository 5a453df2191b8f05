// One JSON error envelope for everything the gateway answers, the same as the AI service's.
import fp from 'fastify-plugin'
import { AiServiceError } from '../client.js'

const CODES = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
  405: 'method_not_allowed', 406: 'not_acceptable', 413: 'payload_too_large',
  415: 'unsupported_media_type', 422: 'validation_error', 429: 'too_many_requests',
  503: 'service_unavailable'
}

export function errorBody(code, message, requestId, details = null) {
  return { error: { code, message, details }, request_id: requestId }
}

/** An expected refusal with its status, like the AI service's DomainError. */
export class GatewayError extends Error {
  constructor(statusCode, code, message, details = null) {
    super(message)
    this.statusCode = statusCode
    this.code = code
    this.details = details
  }
}

function describeValidation(error) {
  const details = error.validation.map((v) => {
    const where = [error.validationContext, ...v.instancePath.split('/').filter(Boolean)]
    if (v.params?.missingProperty) where.push(v.params.missingProperty)
    if (v.params?.additionalProperty) where.push(v.params.additionalProperty)
    return { location: where, message: v.message, type: v.keyword }
  })
  const first = details[0]
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : ''
  const extra = first.type === 'additionalProperties' ? ' is not allowed' : ''
  return { message: `${first.location.join('.')}: ${first.message}${extra}${more}`, details }
}

export default fp(async function errors(app) {
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`, request.id))
  })

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof AiServiceError) {
      // The AI service's own envelope keeps its code and message; only the id is ours.
      if (error.retryAfter != null) reply.header('retry-after', String(Math.ceil(error.retryAfter)))
      if (error.status >= 500) request.log.warn({ code: error.code, status: error.status }, 'AI service failed')
      return reply.code(error.status).send(errorBody(error.code, error.message, request.id, error.details))
    }
    if (error.validation) {
      const { message, details } = describeValidation(error)
      return reply.code(422).send(errorBody('validation_error', message, request.id, details))
    }
    const status = error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) {
      request.log.error({ err: error }, 'gateway error')
      return reply.code(500).send(errorBody('internal_error', 'gateway error; see the gateway logs', request.id))
    }
    const code = error instanceof GatewayError || error.name === 'SessionError' ? error.code : CODES[status] ?? 'bad_request'
    return reply.code(status).send(errorBody(code, error.message, request.id, error.details ?? null))
  })
}, { name: 'errors' })
