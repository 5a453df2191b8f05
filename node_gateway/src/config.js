// Gateway settings from the environment, checked once at start-up; a bad value names its variable.
import { fileURLToPath } from 'node:url'

const DEMO_DATA = fileURLToPath(new URL('../../ai_backend/demo/catalog.json', import.meta.url))

function intFrom(env, name, fallback, { min = 1, max = 65535 } = {}) {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  }
  return value
}

function boolFrom(env, name, fallback) {
  const raw = env[name]?.toLowerCase()
  if (raw === undefined || raw === '') return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off'].includes(raw)) return false
  throw new Error(`${name} must be true or false, got ${JSON.stringify(env[name])}`)
}

// The Python side's level names (LOG_LEVEL is shared) and pino's own.
const LOG_LEVELS = {
  debug: 'debug', info: 'info', warning: 'warn', warn: 'warn', error: 'error', critical: 'fatal', fatal: 'fatal', trace: 'trace', silent: 'silent'
}

function logLevelFrom(env) {
  const raw = (env.LOG_LEVEL ?? 'info').toLowerCase()
  const level = LOG_LEVELS[raw]
  if (!level) throw new Error(`LOG_LEVEL must be one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`)
  return level
}

function secretFrom(env, name, what) {
  const value = env[name]
  if (!value) throw new Error(`${name} must be set: ${what}`)
  if (value.length < 32) throw new Error(`${name} must be at least 32 characters long`)
  return value
}

function claimFrom(env, name, fallback) {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(raw)) {
    throw new Error(`${name} must name a JWT claim, such as sub or _id, got ${JSON.stringify(raw)}`)
  }
  return raw
}

function originsFrom(env) {
  const raw = env.GATEWAY_CORS_ORIGINS ?? ''
  const origins = raw.split(',').map((o) => o.trim()).filter(Boolean)
  for (const origin of origins) {
    let url
    try {
      url = new URL(origin)
    } catch {
      throw new Error(`GATEWAY_CORS_ORIGINS must list origins like https://app.example.org, got ${JSON.stringify(origin)}`)
    }
    if (url.origin !== origin) {
      throw new Error(`GATEWAY_CORS_ORIGINS entries are bare origins (no path or trailing slash): ${JSON.stringify(origin)}`)
    }
  }
  return origins
}

export function loadConfig(env = process.env) {
  const upstream = env.AI_API_URL ?? `http://127.0.0.1:${env.API_PORT ?? 8000}`
  let url
  try {
    url = new URL(upstream)
  } catch {
    throw new Error(`AI_API_URL must be an http(s) URL, got ${JSON.stringify(upstream)}`)
  }
  if (!['http:', 'https:'].includes(url.protocol)) {
    throw new Error(`AI_API_URL must be an http(s) URL, got ${JSON.stringify(upstream)}`)
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port: intFrom(env, 'PORT', intFrom(env, 'GATEWAY_PORT', 3000)),
    upstream: url.origin,
    connections: intFrom(env, 'GATEWAY_CONNECTIONS', 64, { max: 4096 }),
    connectTimeoutMs: intFrom(env, 'GATEWAY_CONNECT_TIMEOUT_MS', 2000, { max: 60000 }),
    timeoutMs: intFrom(env, 'GATEWAY_TIMEOUT_MS', 10000, { max: 600000 }),
    retries: intFrom(env, 'GATEWAY_RETRIES', 2, { min: 0, max: 10 }),
    breakerResetMs: intFrom(env, 'GATEWAY_BREAKER_RESET_MS', 5000, { min: 100, max: 600000 }),
    bodyLimit: intFrom(env, 'GATEWAY_BODY_LIMIT', 1024 * 1024, { max: 64 * 1024 * 1024 }),
    // Requests per end user (or per address, before sign-in) per minute.
    rateLimit: intFrom(env, 'GATEWAY_RATE_LIMIT', 600, { max: 1000000 }),
    corsOrigins: originsFrom(env),
    // The AI service's token secret and issuer: the gateway mints short-lived service tokens.
    serviceSecret: secretFrom(env, 'JWT_SECRET', "the AI service's HS256 token secret"),
    serviceIssuer: env.JWT_ISSUER || 'daodao-ai',
    serviceTokenTtl: intFrom(env, 'GATEWAY_SERVICE_TOKEN_TTL', 300, { min: 30, max: 3600 }),
    // The main backend's secret for end users' session JWTs (cookie `auth_token` or bearer).
    sessionSecret: secretFrom(env, 'SESSION_JWT_SECRET', "the main backend's HS256 session secret"),
    sessionIssuer: env.SESSION_JWT_ISSUER || undefined,
    // The session claim that names the member: `sub` by default, `_id` for DaoDao's sessions.
    sessionMemberClaim: claimFrom(env, 'SESSION_MEMBER_CLAIM', 'sub'),
    // Development only: the console may sign in as any demo member.
    devLogin: boolFrom(env, 'GATEWAY_DEV_LOGIN', false),
    demoData: env.GATEWAY_DEMO_DATA || DEMO_DATA,
    secureCookies: boolFrom(env, 'GATEWAY_SECURE_COOKIES', false),
    logLevel: logLevelFrom(env)
  }
}
