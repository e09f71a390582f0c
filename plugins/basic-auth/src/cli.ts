#!/usr/bin/env node
import { hashPassword } from './hash.js'

/**
 * `gatehouse-basic-auth-hash [--bcrypt] [--cost N]`: reads a password from standard input (one line;
 * typed without echo on a terminal) and prints its hash for a basic-auth credential's `password`.
 * The password is never an argument, so it stays out of shell history and `ps`.
 */
async function main(argv: string[]): Promise<number> {
  let algorithm: 'scrypt' | 'bcrypt' = 'scrypt'
  let cost: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--bcrypt') algorithm = 'bcrypt'
    else if (arg === '--scrypt') algorithm = 'scrypt'
    else if (arg === '--cost') cost = Number(argv[++i])
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: gatehouse-basic-auth-hash [--scrypt | --bcrypt] [--cost N] < password\n' +
          '  scrypt (default): --cost is log2(N), 10-20, default 15\n' +
          '  bcrypt: --cost is the bcrypt cost, 4-31, default 12\n',
      )
      return 0
    } else {
      process.stderr.write(`unknown argument "${arg}" (the password is read from standard input)\n`)
      return 2
    }
  }
  const password = await readPassword()
  if (password === '') {
    process.stderr.write('no password given on standard input\n')
    return 2
  }
  process.stdout.write(`${await hashPassword(password, { algorithm, cost })}\n`)
  return 0
}

async function readPassword(): Promise<string> {
  const stdin = process.stdin
  if (stdin.isTTY) {
    process.stderr.write('password: ')
    stdin.setRawMode(true)
  }
  let text = ''
  stdin.setEncoding('utf8')
  for await (const chunk of stdin) {
    text += chunk
    if (stdin.isTTY) {
      if (text.includes('\u0003')) process.exit(130)
      if (/[\r\n]/.test(text)) break
    }
  }
  if (stdin.isTTY) {
    stdin.setRawMode(false)
    stdin.pause()
    process.stderr.write('\n')
  }
  const line = text.split(/\r?\n|\r/)[0] ?? ''
  return line
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    process.exitCode = 1
  },
)
