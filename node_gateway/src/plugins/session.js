// End-user sessions: `request.session` from the `auth_token` cookie or a bearer header, and a
// service token with just the scope a route needs. End users never see service tokens.
import fp from 'fastify-plugin'
import { SessionError, serviceTokenMinter, sessionVerifier, signSession } from '../auth.js'

export const SESSION_COOKIE = 'auth_token'

function presented(request) {
  const header = request.headers.authorization
  if (header) {
    const [scheme, token] = header.split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !token) {
      throw new SessionError("malformed Authorization header: expected 'Bearer <session token>'")
    }
    return token
  }
  const cookie = request.cookies?.[SESSION_COOKIE]
  if (cookie) return cookie
  throw new SessionError(`sign in first: send the session as the ${SESSION_COOKIE} cookie or a bearer token`)
}

export default fp(async function session(app, { config }) {
  const verify = sessionVerifier({
    secret: config.sessionSecret,
    issuer: config.sessionIssuer,
    memberClaim: config.sessionMemberClaim
  })
  const tokenFor = serviceTokenMinter({
    secret: config.serviceSecret,
    issuer: config.serviceIssuer,
    ttlSeconds: config.serviceTokenTtl
  })

  app.decorateRequest('session', null)
  // An onRequest hook for routes that need a session. Only a route whose config says
  // `anonymous: true` (public reads) serves a session that names no member, such as a
  // temporary user's.
  app.decorate('authenticate', async function authenticate(request) {
    request.session = await verify(presented(request))
    if (request.session.userId === null && !request.routeOptions.config?.anonymous) {
      throw new SessionError('this needs a signed-in member: a temporary session may only search')
    }
  })
  app.decorate('serviceToken', (request, scope) => tokenFor(request.session.userId, scope))
  app.decorate('signSession', (userId, ttlSeconds) =>
    signSession(config.sessionSecret, userId, { ttlSeconds, issuer: config.sessionIssuer }))
  app.decorate('verifySession', verify)
}, { name: 'session', dependencies: ['@fastify/cookie'] })
