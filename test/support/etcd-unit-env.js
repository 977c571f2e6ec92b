// etcd-cluster harness: `systemctl start etcd` with drop-ins (see UNIT_ENV_SCRIPT in etcd-cluster.ts).
// Usage: node etcd-unit-env.js <stashed manifest> <manifest to write> <drop-in dir>
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const [stash, target, dropIns] = process.argv.slice(2);
const env = {};
for (const file of fs.readdirSync(dropIns).filter((f) => f.endsWith('.conf')).sort()) {
  for (const raw of fs.readFileSync(path.join(dropIns, file), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === '[Service]') continue;
    const m = /^EnvironmentFile=(-?)(\/.+)$/.exec(line);
    if (!m) {
      console.error(`systemctl (harness shim): ${file}: only [Service] EnvironmentFile= is emulated, not ${line}`);
      process.exit(1);
    }
    if (!fs.existsSync(m[2])) {
      if (m[1] === '-') continue;
      console.error(`etcd.service: Failed to load environment files: ${m[2]}`);
      process.exit(1);
    }
    for (const l of fs.readFileSync(m[2], 'utf8').split('\n')) {
      const kv = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l);
      if (kv) env[kv[1]] = kv[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
    }
  }
}
const pod = YAML.parse(fs.readFileSync(stash, 'utf8'));
const c = pod.spec.containers[0];
for (const [name, value] of Object.entries(env)) {
  if (!name.startsWith('ETCD_')) continue;
  const flag = `--${name.slice(5).toLowerCase().replace(/_/g, '-')}`;
  c.command = c.command.filter((a) => a !== flag && !a.startsWith(`${flag}=`));
  c.env = [...(c.env || []).filter((e) => e.name !== name), { name, value }];
}
fs.writeFileSync(target, YAML.stringify(pod));
fs.unlinkSync(stash);
