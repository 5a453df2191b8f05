// Gateway settings from the environment, checked once at start-up.

function intFrom(env, name, fallback, { min = 1, max = 65535 } = {}) {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  }
  return value
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
    timeoutMs: intFrom(env, 'GATEWAY_TIMEOUT_MS', 10000, { max: 600000 }),
    bodyLimit: intFrom(env, 'GATEWAY_BODY_LIMIT', 2 * 1024 * 1024, { max: 64 * 1024 * 1024 }),
    logLevel: env.LOG_LEVEL?.toLowerCase() ?? 'info'
  }
}
