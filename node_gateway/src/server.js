// Start the gateway; on SIGINT or SIGTERM stop taking requests, finish those in flight, exit.
import { buildApp } from './app.js'
import { loadConfig } from './config.js'

const SHUTDOWN_GRACE_MS = 10000

let config
try {
  config = loadConfig()
} catch (error) {
  console.error(`invalid gateway configuration: ${error.message}`)
  process.exit(2)
}

const app = await buildApp(config)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    app.log.info({ signal }, 'stopping: finishing requests in flight')
    setTimeout(() => {
      app.log.error('requests still running after the grace period; exiting anyway')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS).unref()
    // close() drops the connections idle at that moment; a kept-alive connection whose request
    // finishes later would hold the server open, so idle ones are closed until it is down.
    setInterval(() => app.server.closeIdleConnections(), 100).unref()
    await app.close()
    process.exit(0)
  })
}

try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ upstream: config.upstream, dev_login: config.devLogin }, 'gateway ready')
} catch (error) {
  const hint = error.code === 'EADDRINUSE'
    ? `port ${config.port} is in use: set GATEWAY_PORT to a free port`
    : error.message
  app.log.error(`cannot start: ${hint}`)
  process.exit(1)
}
