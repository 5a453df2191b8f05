#!/usr/bin/env node
// Print an end-user session token that the running gateway accepts (development and tests).
// The secret is SESSION_JWT_SECRET, or else the one `daodao-ai run` generated in DATA_DIR.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { MEMBER_ID, signSession } from '../src/auth.js'

const usage = 'usage: node node_gateway/bin/session-token.js --user ID [--ttl SECONDS]'
let values
try {
  ;({ values } = parseArgs({
    options: { user: { type: 'string' }, ttl: { type: 'string', default: '3600' }, help: { type: 'boolean' } }
  }))
} catch (error) {
  console.error(`${error.message}\n${usage}`)
  process.exit(2)
}
if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (!values.user || !new RegExp(MEMBER_ID).test(values.user)) {
  console.error(`--user must be a member id (letters, digits, . _ : -)\n${usage}`)
  process.exit(2)
}
const ttl = Number(values.ttl)
if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31536000) {
  console.error('--ttl must be a whole number of seconds from 1 to 31536000')
  process.exit(2)
}

let secret = process.env.SESSION_JWT_SECRET
if (!secret) {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const file = resolve(root, process.env.DATA_DIR ?? '.data', 'session_secret')
  try {
    secret = readFileSync(file, 'utf8').trim()
  } catch {
    console.error(`no SESSION_JWT_SECRET and no ${file}: start the stack once (make run) or set SESSION_JWT_SECRET`)
    process.exit(2)
  }
}
console.log(await signSession(secret, values.user, { ttlSeconds: ttl, issuer: process.env.SESSION_JWT_ISSUER || undefined }))
