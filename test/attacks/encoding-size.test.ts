/**
 * RFC 8725 §3.7 (RFC 7519 §7.2 step 10): header and claims are UTF-8 JSON objects, and nothing else;
 * and tokens are small. Invalid UTF-8 (and UTF-16, and a byte-order mark) in the header or the claims,
 * over a real signature of the server's key, is refused, while valid non-ASCII UTF-8 is accepted. A
 * validly signed token longer than 8,192 characters (10 kB) is refused before it is parsed; one of
 * 1 MB is refused by the HTTP layer: 431 `headers_too_large` in a header, 413 `request_too_large` in a body.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { jsonBytesWith } from './support.ts';
import { type Answer, type ForgeContext, type Lab, STANDARD_LABS, type Target, accepts, attack, expectRefused, present, show, useLabs } from './targets.ts';

const INVALID_UTF8: readonly [string, number[]][] = [
  ['the bytes FF FE', [0xff, 0xfe]],
  ['a lone continuation byte (80)', [0x80]],
  ['a truncated two-byte sequence (C3)', [0xc3]],
  ['an overlong encoding of "/" (C0 AF)', [0xc0, 0xaf]],
  ['an encoded UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a code point beyond U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ['Latin-1 "é" (E9)', [0xe9]],
];

/** The claims of a server-minted token, with a filler claim that makes the token exactly `length` characters. */
function ofLength({ lab, base }: ForgeContext, length: number): string {
  for (const extra of ['', 'y', 'yy', 'yyy']) {
    const bare = lab.realm.resign(base, { pad: '', pad2: extra }).length;
    // Each 3 bytes of filler add 4 characters; walk to the exact length.
    for (let n = Math.max(0, Math.floor(((length - bare) * 3) / 4) - 4); n < length; n++) {
      const token = lab.realm.resign(base, { pad: 'x'.repeat(n), pad2: extra });
      if (token.length === length) return token;
      if (token.length > length) break;
    }
  }
  throw new Error(`no token of exactly ${length} characters`);
}

/** Sends one request over a raw socket and reads the answer (the server may close before reading it all). */
function rawRequest(port: number, request: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const split = raw.indexOf('\r\n\r\n');
      const head = split === -1 ? raw : raw.slice(0, split);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        body: split === -1 ? '' : raw.slice(split + 4),
        contentType: headers['content-type'],
        wwwAuthenticate: headers['www-authenticate'],
        location: headers.location,
      });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('error', (error) => (chunks.length ? finish() : reject(error)));
    socket.setTimeout(15_000, () => {
      socket.destroy();
      reject(new Error('no answer within 15 s'));
    });
    socket.write(request);
  });
}

/** Presents a token in a header over a real socket: Authorization on bearer routes, the session cookie on the admin. */
function overSocket(lab: Lab, target: Target, token: string): Promise<Answer> {
  const [method = 'GET', path = '/'] = target.kind === 'resource' ? ['GET', '/me'] : target.route.split(' ');
  const url = new URL(target.kind === 'resource' ? lab.resource.url : lab.url);
  const credentials = target.kind === 'admin' ? `Cookie: revocable_admin=${token}` : `Authorization: Bearer ${token}`;
  return rawRequest(
    Number(url.port),
    `${method} ${path.replace('{id}', 'no-such-session')} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nContent-Length: 0\r\n${credentials}\r\n\r\n`,
  );
}

describe('RFC 8725 §3.7: UTF-8 only', () => {
  const labs = useLabs(STANDARD_LABS);
  for (const [name, bytes] of INVALID_UTF8) {
    attack(labs, `RFC 8725 §3.7: invalid UTF-8 in a claim (${name}), signed`, ({ lab, base }) =>
      lab.realm.sign(jsonBytesWith(base.payload, 'note', Buffer.from(bytes)), base.header),
    );
  }
  for (const [name, bytes] of INVALID_UTF8.slice(0, 3)) {
    attack(labs, `RFC 8725 §3.7: invalid UTF-8 in a header member (${name}), signed`, ({ lab, base }) =>
      lab.realm.sign(base.payload, jsonBytesWith(base.header, 'note', Buffer.from(bytes))),
    );
  }
  attack(labs, 'RFC 8725 §3.7: invalid UTF-8 in typ ("JWT" FF), signed', ({ lab, base }) => {
    const header = jsonBytesWith({ ...base.header, typ: undefined }, 'typ', Buffer.concat([Buffer.from('JWT'), Buffer.from([0xff])]));
    return lab.realm.sign(base.payload, header);
  });
  const utf16 = (json: string, bom: boolean, bigEndian: boolean) => {
    const le = Buffer.from(`${bom ? '\ufeff' : ''}${json}`, 'utf16le');
    return bigEndian ? Buffer.from(le).swap16() : le;
  };
  attack(labs, 'RFC 8725 §3.7: the claims in UTF-16LE with a byte-order mark, signed', ({ lab, base }) =>
    lab.realm.sign(utf16(JSON.stringify(base.payload), true, false), base.header),
  );
  attack(labs, 'RFC 8725 §3.7: the claims in UTF-16BE without a byte-order mark, signed', ({ lab, base }) =>
    lab.realm.sign(utf16(JSON.stringify(base.payload), false, true), base.header),
  );
  attack(labs, 'RFC 8725 §3.7: the header in UTF-16LE, signed', ({ lab, base }) =>
    lab.realm.sign(base.payload, utf16(JSON.stringify(base.header), true, false)),
  );
  attack(labs, 'RFC 8725 §3.7: the claims after a UTF-8 byte-order mark, signed', ({ lab, base }) =>
    lab.realm.sign(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(base.payload))]), base.header),
  );
  accepts(labs, 'RFC 8725 §3.7: valid non-ASCII UTF-8 in a claim ("ünïcödé 😀"), signed', ({ lab, base }) =>
    lab.realm.resign(base, { note: 'ünïcödé 😀' }),
  );
});

describe('token size', () => {
  const labs = useLabs(STANDARD_LABS);
  accepts(labs, 'a validly signed token of exactly 8,192 characters (the limit)', (context) => ofLength(context, 8192));
  attack(labs, 'a validly signed token of 8,193 characters (one over the limit)', (context) => ofLength(context, 8193));
  attack(labs, 'a validly signed token of 10 kB', ({ lab, base }) => lab.realm.resign(base, { pad: 'x'.repeat(10 * 1024) }));

  const oneMegabyte = ({ lab, base }: ForgeContext) => lab.realm.resign(base, { pad: 'x'.repeat(1024 * 1024) });
  for (const target of labs.targets) {
    if (target.inHeader || target.kind === 'admin') {
      const what = target.kind === 'admin' ? 'session cookie' : 'Authorization header';
      it(`a validly signed token of 1 MB in the ${what} is refused with 431 on ${target.name}`, async () => {
        const lab = labs.lab(target.lab);
        const token = oneMegabyte({ lab, base: await lab.fresh(target.takes), target });
        const answer = await overSocket(lab, target, token);
        expect(answer.status, show(answer)).toBe(431);
        // The resource server's HTTP server is the host application's (Node's own 431); ours answers JSON.
        if (target.kind !== 'resource') {
          expect(answer.body).toBe('{"detail":"Request header fields too large.","code":"headers_too_large"}');
          expect(answer.contentType).toBe('application/json');
        }
      });
    } else {
      it(`a validly signed token of 1 MB in the body is refused with 413 on ${target.name}`, async () => {
        const lab = labs.lab(target.lab);
        const token = oneMegabyte({ lab, base: await lab.fresh(target.takes), target });
        const before = lab.revocations();
        const answer = await present(lab, target, token);
        expect({ status: answer.status, body: answer.body }, show(answer)).toEqual({
          status: 413,
          body: '{"detail":"Request body is too large.","code":"request_too_large"}',
        });
        expect(lab.revocations()).toBe(before);
      });
    }
  }

  it('a 10 kB token in the Authorization header over a real socket is a 401, not a 431 [HS256]', async () => {
    const lab = labs.lab('HS256');
    const target = labs.targets.find((t) => t.lab === 'HS256' && t.route === 'GET /api/me/') as Target;
    const token = lab.realm.resign(await lab.fresh('access'), { pad: 'x'.repeat(10 * 1024) });
    expectRefused(lab, target, await overSocket(lab, target, token), 'Token is invalid or expired', lab.revocations());
  });
});
