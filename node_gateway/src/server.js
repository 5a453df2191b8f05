// Start the gateway; stop cleanly on SIGINT or SIGTERM.
import { buildApp } from './app.js'
import { loadConfig } from './config.js'

let config
try {
  config = loadConfig()
} catch (error) {
  console.error(`invalid gateway configuration: ${error.message}`)
  process.exit(2)
}

const app = buildApp(config)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    app.log.info({ signal }, 'stopping')
    await app.close()
    process.exit(0)
  })
}

try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info({ upstream: config.upstream }, 'gateway ready')
} catch (error) {
  const hint = error.code === 'EADDRINUSE'
    ? `port ${config.port} is in use: set GATEWAY_PORT to a free port`
    : error.message
  app.log.error(`cannot start: ${hint}`)
  process.exit(1)
}
