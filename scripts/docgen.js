// API.md from the jsii assembly, documenting the dependencies at the versions we install.
//
// `jsii-docgen` finds dependency assemblies by globbing every `.jsii` under the project, and
// takes the highest version that matches our peer range. For constructs (`^10.3.0`) that is
// projen's own nested copy (10.8, projen needs >= 10.5), so API.md documented members that the
// constructs 10.3 we build and test against does not have (`with(mixins)`). Here the assemblies it
// sees are exactly ours and those of our direct dependencies in node_modules.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Documentation, Language } = require('jsii-docgen');

async function main() {
  const root = path.join(__dirname, '..');
  const assembly = path.join(root, '.jsii');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docgen-'));
  try {
    const { name, dependencies } = JSON.parse(fs.readFileSync(assembly, 'utf8'));
    for (const [pkg, from] of [[name, assembly], ...Object.keys(dependencies ?? {}).map((d) => [d, path.join(root, 'node_modules', d, '.jsii')])]) {
      fs.mkdirSync(path.join(dir, pkg), { recursive: true });
      fs.copyFileSync(from, path.join(dir, pkg, '.jsii'));
    }
    const docs = await Documentation.forAssembly(name, dir);
    const markdown = await docs.toMarkdown({ language: Language.TYPESCRIPT, allSubmodules: true });
    fs.writeFileSync(path.join(root, 'API.md'), markdown.render());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
