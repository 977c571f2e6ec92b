import * as fs from 'fs';
import * as path from 'path';

/**
 * Error messages in the spelling of the language the library is called from.
 *
 * The jsii host runtimes set `JSII_AGENT` in the Node process they start: `Python/<version>`,
 * `Java/<version>`, `DotNet/<version>`, `go1.x/<os>/<arch>`; it is unset under plain Node. Only
 * Python spells our names differently in a way a reader trips on: jsii-pacmak snake_cases every
 * property, parameter and method (`controlPlaneConfig` is `control_plane_config`). Java keeps the
 * camelCase; .NET and Go PascalCase it, which we leave as the docs show (the TypeScript spelling).
 *
 * Under Python, every lowerCamelCase identifier in the message (a word that starts with a lowercase
 * letter and holds an uppercase one, e.g. `controlPlaneConfig`, `shortRetention`,
 * `hourly24Daily7Weekly4`) that is the name of a property, parameter or method in our jsii assembly
 * (`.jsii` at the package root) is rewritten with pacmak's rule. Words without an uppercase letter
 * (`bucket`, `etcd`, `kubeadm`) read the same in both languages; PascalCase words (`ClusterBackup`,
 * `CronJob`) are type names, which pacmak keeps. A Kubernetes field name or a value the user gave
 * that equals one of our names (`tolerationSeconds`) is rewritten too: in our messages it names our
 * option. Without a `.jsii` (the sources under ts-jest before a compile) every lowerCamelCase
 * identifier is rewritten.
 */
export function inHostSpelling(message: string, agent: string | undefined = process.env.JSII_AGENT): string {
  if (agent === undefined || !agent.startsWith('Python/')) return message;
  const names = apiNames();
  return message.replace(/\b[a-z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*\b/g, (w) => names === undefined ? toPythonName(w) : names.get(w) ?? w);
}

/** An `Error` whose message is in the host language's spelling (see `inHostSpelling`). */
export function configError(message: string): Error {
  return new Error(inHostSpelling(message));
}

const ABBREVIATIONS = /(^|[^A-Z])(KiB|MiB|GiB)($|[^a-z])/g;

/**
 * jsii-pacmak's Python name for a camelCase name: codemaker's `toSnakeCase` (decamelize, with
 * `KiB`/`MiB`/`GiB` kept as one word). pacmak also appends `_` to a Python keyword; every keyword
 * is lowercase, so no camelCase name is one.
 */
export function toPythonName(name: string): string {
  return name
    .replace(ABBREVIATIONS, (_, before: string, abbr: string, after: string) => before + abbr[0] + abbr.slice(1).toLowerCase() + after)
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z]+)/g, '$1_$2')
    .toLowerCase();
}

/** lib/internal/ and src/internal/ are both two levels below the package root, where jsii writes `.jsii`. */
const ASSEMBLY = path.join(__dirname, '..', '..', '.jsii');
let assemblyFile = ASSEMBLY;
let cached: Map<string, string> | undefined | null = null;

/**
 * Our jsii assembly's camelCase property, parameter and method names, each with its Python
 * spelling (a protected member's has pacmak's leading `_`); undefined without an assembly.
 */
function apiNames(): Map<string, string> | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  let assembly: any;
  try {
    assembly = JSON.parse(fs.readFileSync(assemblyFile, 'utf-8'));
  } catch {
    return cached;
  }
  const names = new Map<string, string>();
  const add = (m: any) => {
    if (typeof m?.name !== 'string' || !/^[a-z].*[A-Z]/.test(m.name)) return;
    const py = (m.protected ? '_' : '') + toPythonName(m.name);
    if (!names.has(m.name) || !m.protected) names.set(m.name, py);
  };
  const addParams = (m: any) => (m?.parameters ?? []).forEach(add);
  for (const t of Object.values<any>(assembly.types ?? {})) {
    (t.properties ?? []).forEach(add);
    (t.methods ?? []).forEach((m: any) => {
      add(m);
      addParams(m);
    });
    addParams(t.initializer);
  }
  cached = names;
  return cached;
}

/** For tests: forget the assembly read, so the next call reads `file` (by default our `.jsii`). */
export function _resetHostSpellingCache(file: string = ASSEMBLY): void {
  assemblyFile = file;
  cached = null;
}
