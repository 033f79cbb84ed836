import { Type } from 'typebox';
import { PersonName, SingleLine } from './common.js';

/** The emailed code's digits (the page's minlength and maxlength). */
export const CODE_LENGTH = 6;

/** The staged sign-up's fields: the API validates with them and the /signup page takes its input bounds from them. */
export const SignupFields = {
  code: Type.String({ pattern: `^[0-9]{${CODE_LENGTH}}$`, 'x-pattern-message': `must be the ${CODE_LENGTH} digits from the email`, description: 'The 6-digit code from the email.', examples: ['042917'] }),
  firstName: PersonName(),
  lastName: PersonName(),
  companyName: SingleLine(1, 100),
  line1: SingleLine(1, 200),
  line2: SingleLine(0, 200),
  city: SingleLine(1, 100),
  region: SingleLine(0, 100, 'Required for US (state) and CA (province), as the ISO 3166-2 code, e.g. NY or QC.'),
  postalCode: SingleLine(1, 20),
};
