/** The client's strings table: English and French have the same keys, and the language is chosen sensibly. */
import { describe, expect, it } from 'vitest';
import { chooseLanguage, pickStrings, tables } from '../src/web/client/strings.js';

describe("the web client's strings", () => {
  it('has English and French, each with every key and of the same kind', () => {
    expect(Object.keys(tables).sort()).toEqual(['en', 'fr']);
    const en = tables.en!;
    const fr = tables.fr!;
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(typeof fr[key], key).toBe(typeof en[key]);
      if (typeof en[key] === 'string') expect((fr[key] as string).length, key).toBeGreaterThan(0);
    }
    expect(fr.username).toBe("Nom d'utilisateur");
    expect(fr.watching(3)).toBe('3 personnes regardent');
  });

  it('takes ?lang= first, then the browser languages, then English', () => {
    expect(chooseLanguage('fr', ['en-US'])).toBe('fr');
    expect(chooseLanguage(null, ['fr-CA', 'en'])).toBe('fr');
    expect(chooseLanguage('de', ['de-DE', 'en-GB'])).toBe('en');
    expect(chooseLanguage(null, ['de'])).toBe('en');
    expect(chooseLanguage('', [])).toBe('en');
    expect(pickStrings('FR-fr').join).toBe('Rejoindre');
    expect(pickStrings('xx').join).toBe('Join');
  });
});
