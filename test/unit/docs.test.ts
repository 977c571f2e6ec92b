/**
 * README.md is a guide and docs/*.md the reference it links to: README stays under 450 lines, and
 * every relative link in README.md and docs/*.md points to a file that exists and, into our own
 * Markdown, to a heading (or `<a id>`) that exists, by GitHub's anchor rules.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const README_MAX_LINES = 450;

/** The lines outside fenced code blocks (``` and ~~~), in order; fenced lines are left out. */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === undefined && open) {
      fence = open[1];
    } else if (fence !== undefined) {
      if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) fence = undefined;
    } else {
      lines.push(line);
    }
  }
  return lines;
}

/** A heading's anchor as GitHub makes it: lowercase, punctuation other than '-' and '_' dropped, spaces to '-'. */
export function githubAnchor(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
    .replace(/<[^>]+>/g, '') // inline HTML
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

/** Every anchor a Markdown file has: its headings' (a repeated one gets -1, -2, ...) and `<a id>`/`<a name>`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      const base = githubAnchor(heading[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  return anchors;
}

/** The link targets of a Markdown file, outside code blocks and code spans: inline links and reference definitions. */
export function linksOf(markdown: string): string[] {
  const prose = proseLines(markdown).map((line) => line.replace(/(`+)[^`]*?\1/g, '')).join('\n');
  const targets: string[] = [];
  for (const m of prose.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  for (const m of prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(m[1]);
  return targets;
}

/** What is wrong with the relative links of these files: one message per link that leads nowhere. */
export function brokenLinks(files: string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const target of linksOf(fs.readFileSync(file, 'utf8'))) {
      if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
      const hash = target.indexOf('#');
      const pathPart = decodeURI(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), pathPart);
      const where = `${path.relative(ROOT, file)}: (${target})`;
      if (!fs.existsSync(resolved)) {
        problems.push(`${where}: no file ${path.relative(ROOT, resolved)}`);
      } else if (anchor !== undefined && resolved.endsWith('.md') && fs.statSync(resolved).isFile()
        && !anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor)) {
        problems.push(`${where}: no heading #${anchor} in ${path.relative(ROOT, resolved)}`);
      }
    }
  }
  return problems;
}

function docsFiles(): string[] {
  const docs = path.join(ROOT, 'docs');
  return [
    path.join(ROOT, 'README.md'),
    ...fs.readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(docs, f)),
  ];
}

describe('README and docs/', () => {
  test(`README.md is a guide: fewer than ${README_MAX_LINES} lines`, () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    expect(lines).toBeLessThan(README_MAX_LINES);
  });

  test('every relative link in README.md and docs/*.md leads to a file, and to a heading there', () => {
    const files = docsFiles();
    expect(files.length).toBeGreaterThan(1);
    // The check sees links at all: README links into docs/ with and without an anchor.
    const readmeLinks = linksOf(fs.readFileSync(files[0], 'utf8'));
    expect(readmeLinks.some((l) => /^docs\/[^#]+\.md$/.test(l))).toBe(true);
    expect(readmeLinks.some((l) => /^docs\/[^#]+\.md#./.test(l))).toBe(true);
    expect(brokenLinks(files)).toEqual([]);
  });

  test('anchors follow GitHub: lowercase, punctuation dropped except - and _, spaces to -', () => {
    expect(githubAnchor('Velero: Schedules, locations and restores, safe under GitOps'))
      .toBe('velero-schedules-locations-and-restores-safe-under-gitops');
    expect(githubAnchor("Restore a node's config")).toBe('restore-a-nodes-config');
    expect(githubAnchor('What `scripts/setup.sh` installs')).toBe('what-scriptssetupsh-installs');
    expect(githubAnchor('Faults the job survives (each reproduced in `test/e2e/etcd-backup.e2e.test.ts`)'))
      .toBe('faults-the-job-survives-each-reproduced-in-teste2eetcd-backupe2etestts');
    expect(githubAnchor('snake_case and [a link](x.md) — here')).toBe('snake_case-and-a-link--here');
    expect([...anchorsOf('# A\n\n```sh\n# on: cp-1\n```\n\n## A\n<a id="kept"></a>\n')]).toEqual(['a', 'a-1', 'kept']);
  });

  test('a link to a missing file or heading is reported; links in code are not links', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.md'), '# Title\n\n## Some section\n');
      fs.writeFileSync(path.join(dir, 'b.md'), [
        '[ok](a.md), [ok](a.md#some-section), [ok](#here), [web](https://example.com/x.md#nope)',
        '[missing file](c.md) and [missing\nheading](a.md#nope) and [self](#nowhere)',
        '`[in code](d.md)`',
        '```md',
        '[in a block](e.md)',
        '```',
        '[ref]: f.md',
        '## Here',
        '',
      ].join('\n'));
      const problems = brokenLinks([path.join(dir, 'b.md')]);
      expect(problems).toHaveLength(4);
      expect(problems.join('\n')).toMatch(/\(c\.md\): no file/);
      expect(problems.join('\n')).toMatch(/\(a\.md#nope\): no heading #nope/);
      expect(problems.join('\n')).toMatch(/\(#nowhere\): no heading #nowhere/);
      expect(problems.join('\n')).toMatch(/\(f\.md\): no file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
