import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { withoutTapHook } from '@gatehousejs/sdk/testing'
import t from 'tap'

// A TypeScript user of the built package: a project outside the workspace with `@gatehousejs/sdk`
// in its node_modules imports the root and every subpath, from ESM (.mts) and CommonJS (.cts), and is
// compiled by tsc under `moduleResolution: node16` and `bundler`. The types must resolve to the
// shipped .d.ts/.d.cts files and be real types (each `@ts-expect-error` fails the compile if a name
// came out as `any`). Needs the build (`pnpm build`), as the other tests of this package do.

const exec = promisify(execFile)
const PKG = fileURLToPath(new URL('../', import.meta.url))
const require = createRequire(import.meta.url)
const TSC = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc')
const NODE_TYPES = dirname(dirname(require.resolve('@types/node/package.json')))

const USE = `
import { definePlugin, PRIORITY, Type, type AccessContext } from '@gatehousejs/sdk'
import { startUpstream, type TestUpstream } from '@gatehousejs/sdk/testing'
import { REDIS_CONNECTION_NAME, type RedisClient } from '@gatehousejs/sdk/redis'
import { compileTemplate, parseDotPath, type FlatTransform } from '@gatehousejs/sdk/transform'
import { GatewayConfigSchema, type GatewayConfig } from '@gatehousejs/sdk/config'

declare module '@gatehousejs/sdk' {
  interface SharedState {
    tenant?: string
  }
}

export const plugin = definePlugin({
  name: 'consumer',
  version: '1.0.0',
  priority: PRIORITY.requestTransform,
  schema: Type.Object({ greeting: Type.String() }),
  init(config) {
    return {
      access(ctx: AccessContext) {
        ctx.upstream.headers['x-greeting'] = config.greeting
        const tenant: string | undefined = ctx.shared.tenant
        // @ts-expect-error SharedState is augmented: tenant is a string
        const wrong: number | undefined = ctx.shared.tenant
        void tenant
        void wrong
      },
    }
  },
})

export const config: GatewayConfig = { services: [{ name: 'a', url: 'http://127.0.0.1:1', routes: [] }] }
// @ts-expect-error GatewayConfig is a real type: services is an array
export const bad: GatewayConfig = { services: 'no' }
export const schemaKind: string = GatewayConfigSchema.type
export const rendered: string = compileTemplate('$(a)', { variables: ['a'] }).render({ a: 'b' })
export const path = parseDotPath('a.b')
export const name: string = REDIS_CONNECTION_NAME
export type Types = [TestUpstream, RedisClient, FlatTransform]
export const start: typeof startUpstream = startUpstream
// @ts-expect-error the testing entry is typed: startUpstream takes an options object
startUpstream(42)
`

function tsconfig(moduleResolution: 'node16' | 'bundler') {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: moduleResolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution,
      strict: true,
      noEmit: true,
      // The shipped files are checked where the consumer uses them (each @ts-expect-error below).
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [NODE_TYPES],
    },
    include: ['*.mts', '*.cts', '*.ts'],
  })
}

for (const moduleResolution of ['node16', 'bundler'] as const) {
  t.test(`a consumer compiles against the built types (moduleResolution: ${moduleResolution})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sdk-types-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'node_modules', '@gatehousejs'), { recursive: true })
    symlinkSync(PKG, join(dir, 'node_modules', '@gatehousejs', 'sdk'), 'dir')
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    writeFileSync(join(dir, 'tsconfig.json'), tsconfig(moduleResolution))
    if (moduleResolution === 'node16') {
      writeFileSync(join(dir, 'esm.mts'), USE)
      writeFileSync(join(dir, 'cjs.cts'), USE)
    } else {
      writeFileSync(join(dir, 'app.ts'), USE)
    }
    const r = await exec(...withoutTapHook(process.execPath, [TSC, '-p', dir, '--listFiles']), {
      cwd: dir,
    }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    )
    t.ok(r.ok, 'tsc reports no error', { diagnostic: !r.ok, output: r.out })
    const loaded = r.out.split('\n').filter((l) => l.includes('/packages/sdk/dist/'))
    for (const sub of ['index', 'testing', 'redis', 'transform', 'config']) {
      const ext = moduleResolution === 'node16' ? [`${sub}.d.ts`, `${sub}.d.cts`] : [`${sub}.d.ts`]
      for (const e of ext)
        t.ok(
          loaded.some((l) => l.endsWith(`/dist/${e}`)),
          `types from dist/${e}`,
        )
    }
  })
}
