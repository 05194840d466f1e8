import { strict as assert } from 'node:assert';
import { FileFilter, isSecretPath } from '../../daemon/context/file-filter';

describe('context: credentials are never indexed nor sent', () => {
  it('knows credential files and directories, and lets their templates and ordinary files through', () => {
    const secret = [
      '.env',
      '.env.local',
      'app/.env.production',
      'certs/server.pem',
      'keys/tls.key',
      'home/.ssh/config',
      '.ssh/id_ed25519',
      'id_rsa',
      'id_rsa.pub',
      '.aws/credentials',
      '.npmrc',
      '.netrc',
      'infra/prod.tfvars',
      'store.p12',
      '.git-credentials',
      'deploy/secrets.yaml',
    ];
    const ordinary = [
      '.env.example',
      '.env.sample',
      'src/env.ts',
      'src/keys.ts',
      'docs/ssh.md',
      'key.txt',
      'README.md',
      'src/credentials-form.tsx',
      'environment.py',
    ];
    assert.deepEqual(
      secret.filter((p) => !isSecretPath(p)),
      [],
    );
    assert.deepEqual(
      ordinary.filter((p) => isSecretPath(p)),
      [],
    );
  });

  it('the file filter leaves them out like ignored files', () => {
    const filter = new FileFilter('/nonexistent-root');
    assert.equal(filter.ignored('.env', false), true);
    assert.equal(filter.ignored('.ssh', true), true);
    assert.equal(filter.ignored('src/main.ts', false), false);
  });
});
