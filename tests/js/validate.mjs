// Validates JSON documents against a JSON Schema with ajv, as editors do (unicode regular
// expressions, strict mode). Reads {"schema": ..., "documents": [...]} on stdin; prints one JSON
// line: {"compiled": true, "valid": [true, false, ...]} or {"compiled": false, "error": "..."}.
import Ajv2020 from "ajv/dist/2020.js";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { schema, documents } = JSON.parse(input);

let validate;
try {
  validate = new Ajv2020({ unicodeRegExp: true, strict: true, allErrors: true }).compile(schema);
} catch (error) {
  console.log(JSON.stringify({ compiled: false, error: String(error) }));
  process.exit(0);
}
console.log(JSON.stringify({ compiled: true, valid: documents.map((doc) => validate(doc)) }));
