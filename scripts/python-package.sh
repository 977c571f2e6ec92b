#!/usr/bin/env bash
# Builds the Python package of the library (the jsii python target in .projenrc.ts) with Debian's
# Python build tools, and checks it as far as this machine allows.
#
# Run on a fresh Debian bookworm machine as root (or with sudo), after `npm ci` and
# `npx projen compile` (it reads .jsii and lib/). PyPI is not reachable here, so:
# - `jsii-pacmak --code-only` writes the sources only (pacmak's own packaging step would pip-install
#   its build tools from PyPI);
# - the wheel is built by Debian's `python3 -m build --no-isolation`, which uses Debian's
#   setuptools/wheel instead of the versions pinned in the generated pyproject.toml
#   (hence --skip-dependency-check);
# - the import check stops where the `jsii` Python runtime is imported: that runtime (and
#   `publication`, which every generated module imports) is published on PyPI only, neither on npm
#   nor in Debian. The check requires the import to get exactly that far and fail for exactly
#   that reason; anything else (a syntax error, a wrong module name, a missing file) fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's interpreter: apt's python3-* packages are installed for it (python3 on PATH may be
# another one, e.g. pyenv's).
py=/usr/bin/python3
dist_name=cdk8s-backup
module=cdk8s_backup

debs=(python3 python3-venv python3-build python3-setuptools python3-wheel)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f .jsii ] || [ ! -f lib/index.js ] || [ -n "$(find src -name '*.ts' -newer .jsii | head -n1)" ]; then
  echo "python-package: .jsii or lib/ missing or older than src/ (run npx projen compile first)" >&2
  exit 1
fi

# jsii refuses to stay quiet about an end-of-life Node.js on every run; this script can't change it.
JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="$(node -p 'process.versions.node.split(".")[0]')"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION

version=$(node -p 'require("./package.json").version')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# pacmak packs the npm tarball the Python package embeds with `npm pack`, which would run the
# `prepare` script (a second jsii compile, ~20 s): lib/ and .jsii are fresh, skip it.
# --rosetta-unknown-snippets translate: the TypeScript examples in README.md and the doc comments
# are translated to Python (jsii-rosetta, offline) instead of copied verbatim.
npm_config_ignore_scripts=true npx jsii-pacmak --code-only --target python \
  --rosetta-unknown-snippets translate --outdir "$work/code"

# The wheel goes where `jsii-pacmak --target python` puts it: dist/python/.
out=dist/python
rm -rf "$out"
(cd "$work/code/python" && "$py" -m build --no-isolation --skip-dependency-check --wheel \
  --outdir "$OLDPWD/$out" .) > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
wheel="$PWD/$out/${module}-${version}-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "python-package: expected $(basename "$wheel"), got:" >&2
  ls "$out" >&2
  exit 1
fi

# A venv without Debian's site-packages: only the wheel and the standard library.
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --no-deps "$wheel"

# The wheel: names, version, dependencies, files; the module's API against the jsii assembly; every
# file compiles.
"$work/venv/bin/python" - "$wheel" "$dist_name" "$module" "$version" .jsii <<'EOF'
import ast, compileall, email, json, pathlib, re, sys, tarfile, zipfile, importlib.util

wheel, dist_name, module, version, assembly_path = sys.argv[1:]
errors = []
def expect(ok, what):
    if not ok:
        errors.append(what)

z = zipfile.ZipFile(wheel)
info = f"{module}-{version}.dist-info"
meta = email.message_from_bytes(z.read(f"{info}/METADATA"))
expect(meta["Name"] == dist_name, f"Name: {meta['Name']!r}, expected {dist_name!r}")
expect(meta["Version"] == version, f"Version: {meta['Version']!r}, expected {version!r}")
expect(z.read(f"{info}/top_level.txt").decode().split() == [module], "top_level.txt")
requires = {re.split(r"[\s(<>=~!]", r, maxsplit=1)[0] for r in meta.get_all("Requires-Dist") or []}
want = {"jsii", "publication", "cdk8s", "cdk8s-plus-28", "constructs"}
expect(requires == want, f"Requires-Dist {sorted(requires)}, expected {sorted(want)}")
# 0.x is not "Production/Stable": jsii derives the classifier from the stability in .projenrc.ts.
status = [c for c in meta.get_all("Classifier") or [] if c.startswith("Development Status")]
expect(status == ["Development Status :: 4 - Beta"], f"classifier {status}, expected Development Status :: 4 - Beta")

names = set(z.namelist())
tgz = f"{module}/_jsii/{dist_name}@{version}.jsii.tgz"
for f in (f"{module}/__init__.py", f"{module}/py.typed", f"{module}/_jsii/__init__.py", tgz):
    expect(f in names, f"missing {f}")
if tgz in names:
    with tarfile.open(fileobj=z.open(tgz)) as t:
        packed = set(t.getnames())
        pkg = json.load(t.extractfile("package/package.json"))
    expect((pkg["name"], pkg["version"]) == (dist_name, version), "embedded npm package name/version")
    for f in ("package/.jsii", "package/lib/index.js", "package/node_modules/cron-parser/package.json"):
        expect(f in packed, f"embedded npm package lacks {f}")

# Every type of the assembly is exported by the Python module, under the same name.
assembly = json.loads(pathlib.Path(assembly_path).read_text())
spec = importlib.util.find_spec(module)
src = pathlib.Path(spec.origin)
tree = ast.parse(src.read_text(), str(src))
exported = set()
for node in tree.body:
    if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
        exported = {e.value for e in node.value.elts}
types = {t["name"] for t in assembly["types"].values() if "namespace" not in t}
expect(types == exported, f"__all__ differs from the assembly's types: "
       f"missing {sorted(types - exported)}, extra {sorted(exported - types)}")

expect(compileall.compile_dir(str(src.parent), quiet=1), "a generated .py does not compile")

# The examples in the docs are Python, not TypeScript copied under a ```python fence.
text = src.read_text()
for block in re.findall(r"```python\n(.*?)```", text, re.S):
    ts = [l for l in block.splitlines() if re.match(r"\s*(import \{|const |let |new )", l)]
    expect(not ts, f"TypeScript left in a Python example: {ts[0] if ts else ''}")

if errors:
    print("python-package: wheel check failed:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"python-package: {pathlib.Path(wheel).name}: {dist_name} {version}, module {module}, "
      f"{len(exported)} types, requires {', '.join(sorted(meta.get_all('Requires-Dist')))}")
EOF

# The import: runs the module up to its first `import jsii`, which must be what stops it.
cd "$work"
"$work/venv/bin/python" - "$module" <<'EOF'
import importlib, sys
module = sys.argv[1]
try:
    importlib.import_module(module)
except ModuleNotFoundError as e:
    if e.name != "jsii":
        raise
    print(f"python-package: import {module}: stops at the jsii runtime as expected "
          f"(ModuleNotFoundError: {e}); a real import needs the jsii Python runtime from PyPI")
else:
    print(f"python-package: import {module}: ok")
EOF
