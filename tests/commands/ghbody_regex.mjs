// ghbody_regex.mjs — runs the TTA validation workflow's own body parse (JavaScript, as actions/github-script
// runs it) over golden promotion bodies and checks it reads the true fields.
// usage: node ghbody_regex.mjs FILE COMPONENT CURRENT TARGET [FILE COMPONENT CURRENT TARGET …]
import { readFileSync } from 'node:fs';

// Copied verbatim from .github/workflows/component-promotion-validation.yml (theinterneti/TTA),
// step "Parse promotion request"; only `issue.body` is replaced by the file's text.
function parse(body) {
  // Extract component name
  const componentMatch = body.match(/### Component Name\s+([^\n]+)/);
  const component = componentMatch ? componentMatch[1].trim() : null;

  // Extract current stage
  const currentStageMatch = body.match(/### Current Stage\s+([^\n]+)/);
  const currentStage = currentStageMatch ? currentStageMatch[1].trim() : null;

  // Extract target stage
  const targetStageMatch = body.match(/### Target Stage\s+([^\n]+)/);
  const targetStage = targetStageMatch ? targetStageMatch[1].trim() : null;

  return { component, currentStage, targetStage };
}

const args = process.argv.slice(2);
let failures = 0;
if (args.length === 0 || args.length % 4 !== 0) {
  console.error('usage: node ghbody_regex.mjs FILE COMPONENT CURRENT TARGET …');
  process.exit(2);
}
for (let i = 0; i < args.length; i += 4) {
  const [file, component, currentStage, targetStage] = args.slice(i, i + 4);
  const got = parse(readFileSync(file, 'utf8'));
  const want = { component, currentStage, targetStage };
  for (const k of Object.keys(want)) {
    if (got[k] !== want[k]) {
      console.error(`${file}: ${k} read as ${JSON.stringify(got[k])}, expected ${JSON.stringify(want[k])}`);
      failures++;
    }
  }
  if (!failures)
    console.log(`ok ${file}: ${JSON.stringify(got)}`);
}
process.exit(failures ? 1 : 0);
