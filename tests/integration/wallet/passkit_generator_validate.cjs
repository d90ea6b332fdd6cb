// Validates pass.json files against passkit-generator's own joi schemas: PassProps, the schema its
// PKPass applies to pass.json, strictly (an unknown key is an error, not silently dropped as the
// library itself does). The deprecated top-level `barcode` (iOS 8 and older; Apple still documents
// it) is not in PassProps, so it is checked on its own against the library's Barcode schema.
// Usage: node passkit_generator_validate.cjs FILE...
// Prints one JSON line per file: {"file", "errors": [{"path", "message"}]}; exit 1 when any has errors.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// the package exports only its entry point, so its schemas are loaded from beside it
const entry = require.resolve("passkit-generator");
const Schemas = require(path.join(path.dirname(entry), "schemas", "index.js"));

function problems(schema, data, prefix) {
	const { error } = schema.validate(data, { abortEarly: false });
	return error ? error.details.map((d) => ({ path: [prefix, ...d.path].filter((p) => p !== "").join("."), message: d.message })) : [];
}

let failed = false;
for (const file of process.argv.slice(2)) {
	const { barcode, ...data } = JSON.parse(fs.readFileSync(file, "utf8"));
	const errors = problems(Schemas.PassProps, data, "");
	if (barcode !== undefined) {
		errors.push(...problems(Schemas.Barcode, barcode, "barcode"));
	}
	failed ||= errors.length > 0;
	process.stdout.write(JSON.stringify({ file, errors }) + "\n");
}
process.exit(failed ? 1 : 0);
