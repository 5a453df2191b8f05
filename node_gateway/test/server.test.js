// server.js as a real process: it refuses a bad configuration with a readable message, and on
// SIGTERM it lets a request in flight finish before it exits 0.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { SERVICE_SECRET, SESSION_SECRET, eventually, freePort, sessionFor, startUpstream } from './helpers.js'

const SERVER = fileURLToPath(new URL('../src/server.js', import.meta.url))

function start(env) {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH, JWT_SECRET: SERVICE_SECRET, SESSION_JWT_SECRET: SESSION_SECRET, LOG_LEVEL: 'warning', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  return { child, output: () => output }
}

describe('server process', () => {
  test('a bad setting stops start-up with status 2, naming the variable', async () => {
    const { child, output } = start({ GATEWAY_RATE_LIMIT: 'lots' })
    const [code] = await once(child, 'exit')
    assert.equal(code, 2)
    assert.match(output(), /GATEWAY_RATE_LIMIT must be a whole number/)
  })

  test('SIGTERM finishes the request in flight, then exits 0', async () => {
    const upstream = await startUpstream((request) => ({ status: 200, body: { hits: [], url: request.url }, delayMs: 800 }))
    const port = await freePort()
    const { child, output } = start({ AI_API_URL: upstream.url, PORT: String(port) })
    try {
      const base = `http://127.0.0.1:${port}`
      await eventually(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, { what: 'the gateway to listen' })
      const inFlight = fetch(`${base}/v1/search?q=slow`, { headers: { authorization: `Bearer ${await sessionFor('u-mei')}` } })
      await eventually(() => upstream.seen.length === 1, { what: 'the request to reach the API' })
      child.kill('SIGTERM')
      const answer = await inFlight
      assert.equal(answer.status, 200)
      assert.equal((await answer.json()).url, '/v1/search?q=slow')
      const [code] = await once(child, 'exit')
      assert.equal(code, 0, output())
      await assert.rejects(fetch(`${base}/healthz`), 'nothing listens any more')
    } finally {
      child.kill('SIGKILL')
      await upstream.close()
    }
  })
})
