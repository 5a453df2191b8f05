// The console page (GET /) and its sign-in: with GATEWAY_DEV_LOGIN a person may pick any demo
// member; otherwise the page uses the session cookie the main backend set.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { GatewayError } from '../plugins/errors.js'
import { SESSION_COOKIE } from '../plugins/session.js'
import { LoginBody } from '../schemas.js'

const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url))
const SESSION_SECONDS = 8 * 3600

async function demoUsers(path) {
  const catalog = JSON.parse(await readFile(path, 'utf8'))
  return catalog.users.map((u) => ({ id: u.id, display_name: u.display_name }))
}

export default async function consoleRoutes(app, { config }) {
  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/', index: ['index.html'], maxAge: 0 })

  const cookie = {
    path: '/', httpOnly: true, sameSite: 'strict', secure: config.secureCookies, maxAge: SESSION_SECONDS
  }

  app.get('/console/me', async (request) => {
    let userId = null
    const token = request.cookies[SESSION_COOKIE]
    if (token) {
      try {
        userId = (await app.verifySession(token)).userId
      } catch {
        userId = null
      }
    }
    return { user_id: userId, dev_login: config.devLogin }
  })

  if (!config.devLogin) return

  const users = demoUsers(config.demoData).catch((error) => {
    app.log.warn({ err: error }, 'no demo members to offer')
    return []
  })

  app.get('/console/demo-users', async () => ({ users: await users }))

  app.post('/console/session', { schema: { body: LoginBody } }, async (request, reply) => {
    const userId = request.body.user_id
    if (!(await users).some((u) => u.id === userId)) {
      throw new GatewayError(404, 'not_found', `no demo member '${userId}'`)
    }
    reply.setCookie(SESSION_COOKIE, await app.signSession(userId, SESSION_SECONDS), cookie)
    return { user_id: userId }
  })

  app.delete('/console/session', async (request, reply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return reply.code(204).send()
  })
}
