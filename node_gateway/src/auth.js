// End users' session JWTs (signed by the main backend) in, short-lived service tokens out.
import { randomUUID } from 'node:crypto'
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'

const ALGORITHM = 'HS256'
const encoder = new TextEncoder()
// Member ids follow the AI service's id rule, so a session names a member it can look up.
export const MEMBER_ID = '^[A-Za-z0-9][A-Za-z0-9._:\\-]{0,54}$'
const memberId = new RegExp(MEMBER_ID)

export class SessionError extends Error {
  constructor(message) {
    super(message)
    this.name = 'SessionError'
    this.statusCode = 401
    this.code = 'unauthorized'
  }
}

/** Sign a session token the way the main backend does (development and tests). */
export function signSession(secret, userId, { ttlSeconds = 8 * 3600, issuer } = {}) {
  const token = new SignJWT({}).setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(userId).setIssuedAt().setExpirationTime(`${ttlSeconds}s`).setJti(randomUUID())
  if (issuer) token.setIssuer(issuer)
  return token.sign(encoder.encode(secret))
}

/**
 * The member a verified session names: the `memberClaim` claim (`sub` by default; DaoDao's
 * sessions name the member in `_id`). A session without it, or a temporary user's (`isTemp`),
 * is anonymous: `userId` null.
 */
function memberOf(payload, memberClaim) {
  if (payload.isTemp === true) return null
  const value = payload[memberClaim]
  if (value === undefined || value === null || value === '') return null
  const id = Number.isInteger(value) ? String(value) : value
  if (typeof id !== 'string' || !memberId.test(id)) {
    throw new SessionError(`invalid session token: ${memberClaim} is not a member id`)
  }
  return id
}

/**
 * Verifies session tokens and remembers verified ones until they expire, so a repeat costs a
 * map lookup instead of an HMAC: a token cannot change, so its answer cannot either.
 */
export function sessionVerifier({ secret, issuer, memberClaim = 'sub', capacity = 10000 }) {
  const key = encoder.encode(secret)
  const known = new LRUCache({ max: capacity })

  return async function verify(token) {
    const seen = known.get(token)
    if (seen && Date.now() < seen.expiresAt) return seen
    let payload
    try {
      ;({ payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], issuer, requiredClaims: ['exp'] }))
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new SessionError('session expired: sign in again')
      throw new SessionError('invalid session token')
    }
    const session = { userId: memberOf(payload, memberClaim), expiresAt: payload.exp * 1000 }
    known.set(token, session)
    return session
  }
}

/** Mints service tokens for the AI service, one per member and scope, reused until near expiry. */
export function serviceTokenMinter({ secret, issuer, ttlSeconds, capacity = 10000 }) {
  const key = encoder.encode(secret)
  const minted = new LRUCache({ max: capacity })
  // Reuse a token while more than a fifth of its life is left.
  const renewMs = Math.ceil(ttlSeconds * 200)

  // An anonymous session (userId null) gets a token of its own, for public reads only.
  return async function tokenFor(userId, scope) {
    const subject = userId === null ? 'anonymous' : `member:${userId}`
    const cacheKey = `${scope} ${subject}`
    const held = minted.get(cacheKey)
    if (held && held.expiresAt - Date.now() > renewMs) return held.token
    const expiresAt = Date.now() + ttlSeconds * 1000
    const token = await new SignJWT({ scope }).setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(subject).setIssuer(issuer).setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt / 1000)).setJti(randomUUID()).sign(key)
    minted.set(cacheKey, { token, expiresAt })
    return token
  }
}
