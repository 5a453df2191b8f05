// Start the real stack once (`daodao-ai run`: embedded PostgreSQL and Valkey, the API, a Celery
// worker with the bundled LLM, and the gateway process) in a temporary folder on free ports, run
// the integration tests against it, then stop it all. Exit status: the tests'.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import { freePort } from '../helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HERE = fileURLToPath(new URL('./', import.meta.url))
const PYTHON = join(ROOT, '.venv', 'bin', 'python')
const READY_WITHIN_MS = 300000

async function answers(url, headers = {}) {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(2000) })
    return response.ok && response
  } catch {
    return false
  }
}

/** True once the start-up sync has put every catalogue row into the vector index. */
async function indexed(api, secret) {
  const token = await new SignJWT({ scope: 'admin' }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('gateway-tests').setIssuer('daodao-ai').setIssuedAt().setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret))
  const response = await answers(`${api}/v1/admin/index`, { authorization: `Bearer ${token}` })
  if (!response) return false
  const { points, pending } = await response.json()
  return points > 0 && pending === 0
}

if (!existsSync(PYTHON)) {
  console.error(`no ${PYTHON}: run \`make install\` first`)
  process.exit(2)
}

const dataDir = await mkdtemp(join(tmpdir(), 'daodao-gateway-it-'))
const [apiPort, gatewayPort, redisPort] = [await freePort(), await freePort(), await freePort()]
const env = { ...process.env }
for (const name of ['DATABASE_URL', 'REDIS_URL', 'QDRANT_URL', 'LLM_BASE_URL']) delete env[name]
Object.assign(env, {
  DATA_DIR: join(dataDir, 'data'),
  API_PORT: String(apiPort),
  GATEWAY_PORT: String(gatewayPort),
  EMBEDDED_REDIS_PORT: String(redisPort),
  GATEWAY_DEV_LOGIN: 'true',
  // One joined copy of the local model for every run, as the benchmarks share it.
  MODEL_CACHE: process.env.MODEL_CACHE ?? join(tmpdir(), 'daodao-models'),
  LOG_LEVEL: 'WARNING'
})
const logPath = join(dataDir, 'stack.log')
const log = createWriteStream(logPath)
console.log(`starting the stack (log: ${logPath})`)
const stack = spawn(PYTHON, ['-m', 'ai_backend.cli', 'run'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
stack.stdout.pipe(log)
stack.stderr.pipe(log)
let stackExited = false
stack.once('exit', () => { stackExited = true })

async function stop() {
  if (!stackExited) {
    stack.kill('SIGTERM')
    const killer = setTimeout(() => stack.kill('SIGKILL'), 60000)
    await once(stack, 'exit').catch(() => {})
    clearTimeout(killer)
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await stop()
    process.exit(130)
  })
}

let status = 1
try {
  const api = `http://127.0.0.1:${apiPort}`
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`
  const started = Date.now()
  const secret = async () => (await readFile(join(env.DATA_DIR, 'jwt_secret'), 'utf8')).trim()
  while (!(await answers(`${api}/readyz`)) || !(await answers(`${gatewayUrl}/healthz`)) ||
         !(await indexed(api, await secret()))) {
    if (stackExited) throw new Error(`the stack exited during start-up; see ${logPath}`)
    if (Date.now() - started > READY_WITHIN_MS) throw new Error(`the stack was not ready within ${READY_WITHIN_MS / 1000} s; see ${logPath}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  console.log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const files = (await readdir(HERE)).filter((f) => f.endsWith('.test.js')).map((f) => join(HERE, f))
  const tests = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
    env: {
      ...process.env,
      AI_API_URL: api,
      STACK_GATEWAY_URL: gatewayUrl,
      JWT_SECRET: await secret(),
      SESSION_JWT_SECRET: (await readFile(join(env.DATA_DIR, 'session_secret'), 'utf8')).trim(),
      DATA_DIR: env.DATA_DIR
    }
  })
  const [code] = await once(tests, 'exit')
  status = code ?? 1
} catch (error) {
  console.error(error.message)
  console.error((await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-40).join('\n'))
} finally {
  await stop()
  if (status === 0) await rm(dataDir, { recursive: true, force: true })
  else console.error(`stack log kept: ${logPath}`)
}
process.exit(status)
