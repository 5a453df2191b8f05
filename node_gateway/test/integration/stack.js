// What the integration tests know of the stack run.js started: its URLs and secrets.
import { loadConfig } from '../../src/config.js'
import { bearer } from '../helpers.js'

export const env = process.env

/** A gateway config for the running API (or a proxy in front of it). */
export const stackConfig = (overrides = {}) => loadConfig({
  AI_API_URL: env.AI_API_URL,
  JWT_SECRET: env.JWT_SECRET,
  SESSION_JWT_SECRET: env.SESSION_JWT_SECRET,
  ...overrides
})

export const asMember = (userId) => bearer(userId, { secret: env.SESSION_JWT_SECRET })
