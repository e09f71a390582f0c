import { createGateway, type GatewayConfig } from '@gatehousejs/core'
import { configIssues } from '@gatehousejs/sdk/testing'
import t from 'tap'
import opentelemetry from '../src/index.js'

function configWith(config: Record<string, unknown>): GatewayConfig {
  return {
    services: [{ name: 'api', url: 'http://127.0.0.1:9', routes: [{ name: 'api', paths: ['/'] }] }],
    plugins: [{ name: 'opentelemetry', config }],
  }
}

function issuesFor(config: Record<string, unknown>) {
  return configIssues({ plugins: [opentelemetry], config: configWith(config) })
}

t.test('defaults', async (t) => {
  const gw = await createGateway(configWith({ endpoint: 'http://127.0.0.1:4318/v1/traces' }), {
    plugins: [opentelemetry],
    logger: false,
  })
  t.teardown(() => gw.close())
  t.match(gw.config.plugins?.[0]?.config, {
    serviceName: 'gatehouse',
    samplingRatio: 1,
    propagate: true,
    pluginSpans: true,
    batch: { scheduledDelay: 5000, maxQueueSize: 2048 },
  })
})

t.test('the endpoint is required and must be an http(s) URL', async (t) => {
  t.match(await issuesFor({}), [
    { pointer: '/plugins/0/config', plugin: 'opentelemetry', message: /endpoint/ },
  ])
  t.match(await issuesFor({ endpoint: 'collector:4318' }), [
    { pointer: '/plugins/0/config/endpoint', plugin: 'opentelemetry', message: /not an http\(s\) URL/ },
  ])
})

t.test('a sampling ratio outside 0..1 and a header with CR/LF are refused', async (t) => {
  const endpoint = 'http://127.0.0.1:4318/v1/traces'
  t.match(await issuesFor({ endpoint, samplingRatio: 1.5 }), [{ pointer: '/plugins/0/config/samplingRatio' }])
  t.match(await issuesFor({ endpoint, headers: { 'x-key': 'a\r\nb' } }), [
    { pointer: '/plugins/0/config/headers/x-key' },
  ])
})
