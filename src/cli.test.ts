import { describe, expect, it } from 'vitest';
import { parseArgs, parseListenAddress, USAGE } from './cli.js';

describe('parseArgs', () => {
  it('takes the form the README documents', () => {
    const o = parseArgs(['--insecure', '--http', '127.0.0.1:8080', '--data', 'D', '--groups', 'G', '--recordings', 'R']);
    expect(o).toMatchObject({ insecure: true, http: '127.0.0.1:8080', data: 'D', groups: 'G', recordings: 'R' });
  });

  it("accepts Galène's single-dash and = forms", () => {
    const o = parseArgs(['-http=:9000', '-udp-range', '40000-40100', '-static', 'static/']);
    expect(o).toMatchObject({ http: ':9000', udpRange: [40000, 40100], static: 'static/' });
  });

  it('takes the internal listener for workers and its URL, and refuses malformed ones by name', () => {
    expect(parseArgs([])).toMatchObject({ internalHttp: undefined, internalUrl: undefined });
    expect(parseArgs(['--internal-http', ':8444', '--internal-url', 'http://lectern:8444'])).toMatchObject({
      internalHttp: ':8444',
      internalUrl: 'http://lectern:8444',
    });
    expect(() => parseArgs(['--internal-http', 'lectern'])).toThrow(/--internal-http: expected \[host\]:port/);
    expect(() => parseArgs(['--internal-url', 'https://lectern:8444'])).toThrow(/--internal-url: expected http:\/\/host:port/);
  });

  it('has Galène defaults', () => {
    expect(parseArgs([])).toMatchObject({ http: ':8443', insecure: false, data: './data', groups: './groups', recordings: './recordings' });
  });

  it('takes a number of forwarding threads (none by default)', () => {
    expect(parseArgs([]).forwardThreads).toBe(0);
    expect(parseArgs(['--forward-threads', '2']).forwardThreads).toBe(2);
  });

  it("takes Galène's -turn forms (auto by default, \"\" off)", () => {
    expect(parseArgs([]).turn).toEqual({ mode: 'auto' });
    expect(parseArgs(['-turn', '']).turn).toEqual({ mode: 'off' });
    expect(parseArgs(['-turn=:1194']).turn).toEqual({ mode: 'public', port: 1194 });
    expect(parseArgs(['--turn', '203.0.113.1:443']).turn).toEqual({ mode: 'fixed', ip: '203.0.113.1', port: 443 });
  });

  it.each([[['--bogus']], [['--http']], [['--udp-range', '5-2']], [['stray']], [['--forward-threads', 'two']], [['--turn', 'example.org:1194']], [['--turn', '1.2.3.4']]])('refuses %j', (argv) => {
    expect(() => parseArgs(argv)).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});

describe('parseListenAddress', () => {
  it.each([
    [':8443', { host: undefined, port: 8443 }],
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
  ])('%s', (addr, expected) => expect(parseListenAddress(addr)).toEqual(expected));

  it('refuses a missing port', () => expect(() => parseListenAddress('localhost')).toThrow());
});

describe('NAT and ICE flags', () => {
  it('--public-address is repeatable and must be an IP address', () => {
    expect(parseArgs(['--public-address', '203.0.113.9', '-public-address=2001:db8::1']).publicAddresses).toEqual(['203.0.113.9', '2001:db8::1']);
    expect(() => parseArgs(['--public-address', 'example.org'])).toThrow(/expected an IP address/);
  });
  it("Galène's -relay-only is accepted, -mdns refused in one line", () => {
    expect(parseArgs(['-relay-only']).relayOnly).toBe(true);
    expect(parseArgs([]).relayOnly).toBe(false);
    expect(() => parseArgs(['-mdns'])).toThrow(/^--mdns is not supported: [^\n]+$/);
    expect(USAGE).toMatch(/--relay-only/);
    expect(USAGE).toMatch(/--mdns/);
  });
});
