// Runs against the built plugin (npm test builds first), a real gateway and a real upstream.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startGateway, startUpstream } from '@gatehousejs/sdk/testing'
import plugin from '../dist/index.js'

function config(upstreamUrl, pluginConfig = {}) {
  return {
    services: [{ name: 'echo', url: upstreamUrl, routes: [{ paths: ['/'] }] }],
    plugins: [{ name: '__NAME__', config: pluginConfig }],
  }
}

test('the header reaches the upstream', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({ t, plugins: [plugin], config: config(upstream.url, { value: 'yes' }) })
  const res = await gw.request({ path: '/hello' })
  assert.equal(res.status, 200)
  assert.equal(upstream.last()?.headers['x-__NAME__'], 'yes')
})

test('a missing required header is a 400 with a stable code, and nothing is proxied', async (t) => {
  const upstream = await startUpstream({ t })
  const gw = await startGateway({
    t,
    plugins: [plugin],
    config: config(upstream.url, { require: 'x-tenant' }),
  })
  const res = await gw.request({ path: '/hello' })
  assert.equal(res.status, 400)
  assert.equal(res.json().code, '__MISSING_CODE__')
  assert.equal(upstream.requests.length, 0)
})

test('bad config is refused at load, naming the field', async (t) => {
  const upstream = await startUpstream({ t })
  await assert.rejects(
    startGateway({ t, plugins: [plugin], config: config(upstream.url, { header: 'not a header' }) }),
    (err) => err.name === 'ConfigError' && err.issues.some((i) => i.pointer === '/plugins/0/config/header'),
  )
})
