// Prints the dev server's --search-attribute flags, one per line, from the single list in workflows/.
import { devServerSearchAttributeFlags } from '../workflows/search-attributes';

console.log(devServerSearchAttributeFlags().join('\n'));
