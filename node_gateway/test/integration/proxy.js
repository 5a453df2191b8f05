// A TCP pass-through in front of the real API that a test can stop (connections refused), stall
// (connections accepted, nothing answered) or resume: faults as the gateway sees them.
import { once } from 'node:events'
import { connect, createServer } from 'node:net'

export async function startProxy(target) {
  const { hostname, port: targetPort } = new URL(target)
  const sockets = new Set()
  let mode = 'pass'
  let server
  let port = 0

  const listen = async () => {
    server = createServer((client) => {
      sockets.add(client)
      client.once('close', () => sockets.delete(client))
      client.on('error', () => {})
      if (mode === 'stall') return // hold the connection; never answer
      const upstream = connect(Number(targetPort), hostname)
      sockets.add(upstream)
      upstream.once('close', () => { sockets.delete(upstream); client.destroy() })
      client.once('close', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    port = server.address().port
  }
  const dropAll = () => { for (const socket of sockets) socket.destroy() }
  await listen()

  return {
    url: () => `http://127.0.0.1:${port}`,
    /** Refuse connections, as a stopped API does. */
    async stop() {
      dropAll()
      server.close()
      await once(server, 'close')
    },
    /** Accept connections and answer nothing, as a hung API does. */
    stall() {
      mode = 'stall'
      dropAll()
    },
    async resume() {
      mode = 'pass'
      dropAll()
      if (!server.listening) await listen()
    },
    close() {
      dropAll()
      if (server.listening) server.close()
    }
  }
}
