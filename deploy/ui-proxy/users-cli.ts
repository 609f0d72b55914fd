// Manages the login proxy's users file (the proxy reads it again on every change):
//   npx tsx deploy/ui-proxy/users-cli.ts add FILE NAME viewer|ops   a new user with a generated password, printed once
//   npx tsx deploy/ui-proxy/users-cli.ts set FILE NAME viewer|ops   adds or changes a user; the password on stdin
//   npx tsx deploy/ui-proxy/users-cli.ts remove FILE NAME           (its sessions end at its next request)
//   npx tsx deploy/ui-proxy/users-cli.ts list FILE
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hashPassword, readUsers, Role, UserName, writeUsers } from './users';

const MIN_PASSWORD = 16;
const [command, file, name, role] = process.argv.slice(2);
const usage = 'usage: users-cli.ts add|set FILE NAME viewer|ops | remove FILE NAME | list FILE';

function fail(message: string): never {
  console.error(`users-cli: ${message}`);
  process.exit(2);
}

async function put(password: string): Promise<void> {
  const parsedName = UserName.safeParse(name);
  if (!parsedName.success) fail(`user name '${name ?? ''}': ${parsedName.error.issues[0].message}`);
  const parsedRole = Role.safeParse(role);
  if (!parsedRole.success) fail(`role '${role ?? ''}': expected viewer or ops`);
  if (password.length < MIN_PASSWORD) fail(`the password must have ${MIN_PASSWORD} characters or more`);
  const users = readUsers(file).filter((u) => u.name !== name);
  writeUsers(file, [...users, await hashPassword(parsedName.data, parsedRole.data, password)]);
}

if (!file) fail(usage);
switch (command) {
  case 'add': {
    if (readUsers(file).some((u) => u.name === name)) fail(`${file}: user ${name} exists (set changes it)`);
    const password = randomBytes(18).toString('base64url');
    await put(password);
    console.log(password);
    break;
  }
  case 'set':
    await put(readFileSync(0, 'utf8').replace(/\r?\n$/, ''));
    break;
  case 'remove': {
    const users = readUsers(file);
    if (!users.some((u) => u.name === name)) fail(`${file}: no user ${name}`);
    writeUsers(
      file,
      users.filter((u) => u.name !== name),
    );
    break;
  }
  case 'list':
    for (const u of readUsers(file)) console.log(`${u.name} ${u.role}`);
    break;
  default:
    fail(usage);
}
