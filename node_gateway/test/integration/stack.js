// What the integration tests know of the stack run.js started: its URLs and secrets.
import { signSession } from '../../src/auth.js'
import { loadConfig } from '../../src/config.js'

export const env = process.env

/** A gateway config for the running API (or a proxy in front of it). */
export const stackConfig = (overrides = {}) => loadConfig({
  AI_API_URL: env.AI_API_URL,
  JWT_SECRET: env.JWT_SECRET,
  SESSION_JWT_SECRET: env.SESSION_JWT_SECRET,
  ...overrides
})

export const asMember = async (userId) => ({ authorization: `Bearer ${await signSession(env.SESSION_JWT_SECRET, userId)}` })
