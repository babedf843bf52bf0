// Installs the client as a user would (npm pack, then npm install of the tarball into an
// empty project), then: tsc --strict accepts sample.ts against the installed declarations,
// `import { DirectUpload } from 'directup'` works in Node, and directup.d.ts declares
// exactly what directup.js exports.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const web = join(here, '..', '..')
const project = mkdtempSync(join(tmpdir(), 'directup-types-'))
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', project], web))
console.log(`packed ${packed.filename}: ${packed.files.map((f) => f.path).join(', ')}`)
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sample', private: true, type: 'module' }))
// The package has no dependencies: nothing is fetched.
run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(project, packed.filename)], project)
for (const f of ['sample.ts', 'tsconfig.json']) copyFileSync(join(here, f), join(project, f))
run(process.execPath, [join(web, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(project, 'tsconfig.json')], project)
console.log('tsc --strict: sample.ts type-checks against the installed package')

const installed = join(project, 'node_modules', 'directup')
const { exports: entry } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
const js = Object.keys(await import(pathToFileURL(join(installed, entry['.'].default)))).sort()
const dts = [...readFileSync(join(installed, entry['.'].types), 'utf8').matchAll(/^export (?:class|const|function) (\w+)/gm)]
  .map((m) => m[1]).filter((v, i, a) => a.indexOf(v) === i).sort()
if (JSON.stringify(js) !== JSON.stringify(dts)) {
  console.error(`directup.js exports ${js.join(', ')}\ndirectup.d.ts declares ${dts.join(', ')}`)
  process.exit(1)
}
console.log(`directup.d.ts declares every export of directup.js: ${js.join(', ')}`)
