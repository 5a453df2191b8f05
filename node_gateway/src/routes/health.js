// `/healthz`: the process is alive. `/readyz`: 503 while any circuit to the AI service is open.
export default async function health(app) {
  app.get('/healthz', { config: { rateLimit: false } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { config: { rateLimit: false } }, async (request, reply) => {
    const breakers = app.ai.breakerStates()
    const open = Object.keys(breakers).filter((family) => breakers[family] === 'open')
    if (open.length === 0) return { status: 'ready', breakers }
    reply.code(503).header('retry-after', '5')
    return { status: 'unavailable', message: `circuit open for: ${open.join(', ')}`, breakers }
  })
}
