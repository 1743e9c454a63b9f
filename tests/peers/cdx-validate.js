// Validate a CycloneDX JSON document against the official schema shipped in
// @cyclonedx/cyclonedx-library (strict: no extra properties).
// usage: NODE_PATH=<peers>/node_modules node cdx-validate.js FILE 1.6|1.5
// Prints "valid" and exits 0, or prints the schema errors and exits 1.
const fs = require('fs');
const CDX = require('@cyclonedx/cyclonedx-library');
const [file, ver] = process.argv.slice(2);
const spec = { '1.6': CDX.Spec.Version.v1dot6, '1.5': CDX.Spec.Version.v1dot5 }[ver];
if (!spec) { console.error('version must be 1.5 or 1.6'); process.exit(2); }
new CDX.Validation.JsonStrictValidator(spec)
  .validate(fs.readFileSync(file, 'utf8'))
  .then((errors) => {
    if (errors === null) { console.log('valid'); process.exit(0); }
    console.log(JSON.stringify(errors, null, 1).slice(0, 4000));
    process.exit(1);
  })
  .catch((e) => { console.error(String(e)); process.exit(3); });
