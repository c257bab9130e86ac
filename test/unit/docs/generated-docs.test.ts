import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { GENERATED_DOCS } from '../../../tools/render-docs.ts';

describe('generated reference docs', () => {
  for (const [file, render] of Object.entries(GENERATED_DOCS)) {
    it(`${file} matches the code (regenerate with: node tools/render-docs.ts)`, () => {
      expect(readFileSync(file, 'utf8')).to.equal(render());
    });
  }
});
