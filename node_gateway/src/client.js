// The client module the Node main backend imports to call daodao-ai (directly or via the gateway).
import { randomUUID } from 'node:crypto'
import { Pool } from 'undici'

export class AiServiceError extends Error {
  constructor(status, body, requestId) {
    super(body?.error?.message ?? `daodao-ai answered ${status}`)
    this.name = 'AiServiceError'
    this.status = status
    this.code = body?.error?.code ?? 'http_error'
    this.details = body?.error?.details ?? null
    this.requestId = requestId
  }
}

export function createClient({ baseUrl, token, connections = 16, timeoutMs = 10000 }) {
  const pool = new Pool(baseUrl, { connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })

  async function request(method, path, { body, requestId = randomUUID(), headers = {} } = {}) {
    const accessToken = typeof token === 'function' ? await token() : token
    const response = await pool.request({
      method,
      path,
      headers: {
        ...headers,
        'x-request-id': requestId,
        authorization: `Bearer ${accessToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' })
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.body.text()
    const parsed = text ? JSON.parse(text) : null
    const echoed = response.headers['x-request-id'] ?? requestId
    if (response.statusCode >= 400) throw new AiServiceError(response.statusCode, parsed, echoed)
    return { status: response.statusCode, body: parsed, requestId: echoed }
  }

  return {
    request,
    get: (path, options) => request('GET', path, options),
    post: (path, body, options) => request('POST', path, { ...options, body }),
    close: () => pool.close()
  }
}
