import { shellComment, shellQuote, shellWords } from '../../../src/internal/shell';

describe('shellQuote: the words it writes', () => {
  test('plain words stay bare; the rest is single-quoted with \' as \'\\\'\'', () => {
    expect(shellQuote('s3:https://minio.example.com:9000/backups/k8s/prod/etcd')).toBe('s3:https://minio.example.com:9000/backups/k8s/prod/etcd');
    expect(shellQuote('/etc/kubernetes/.')).toBe('/etc/kubernetes/.');
    expect(shellQuote("a'b")).toBe("'a'\\''b'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('=x')).toBe("'=x'");
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('https://[::1]:9000')).toBe("'https://[::1]:9000'");
  });

  test.each(['a\0b', 'a\tb', 'x\r\ny', '\u001b[200~', 'a\u0003b', 'a\u007fb', 'a\u009bb'])('%j: control characters a terminal acts on are an error, not a changed word', (bad) => {
    // A pasted TAB completes file names, a CR ends the line, ESC starts a key binding; no argument holds a NUL.
    expect(() => shellQuote(bad)).toThrow(/^shellQuote: .* holds a control character other than a line break/);
  });
});

describe('shellWords and shellComment', () => {
  test('a command line quotes each word on its own', () => {
    expect(shellWords('restic', '-r', 's3:https://minio/b', '--tag', "it's")).toBe("restic -r s3:https://minio/b --tag 'it'\\''s'");
  });

  test('a comment stays one comment line whatever the text holds', () => {
    expect(shellComment('restore cp-1\nrm -rf /')).toBe('# restore cp-1 rm -rf /');
    expect(shellComment('a\u2028b\tc')).toBe('# a b c');
  });
});
