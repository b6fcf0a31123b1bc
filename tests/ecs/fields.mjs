// Prints the ECS field definitions shipped in @elastic/ecs (its EcsFlat table) as one JSON object, reduced to what the
// ECS document test checks: per flat field name its type, whether it is an array, its allowed values (and, for
// event.category, the event types each category expects), whether it is required; and the ECS version.
// Usage: node fields.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { EcsFlat, EcsVersion } = require('@elastic/ecs');

const fields = {};
for (const [name, f] of Object.entries(EcsFlat)) {
  fields[name] = {
    type: f.type,
    array: (f.normalize ?? []).includes('array'),
    required: f.required === true,
    object_type: f.object_type ?? null,
    allowed: f.allowed_values ? f.allowed_values.map((v) => v.name) : null,
    expected_event_types: f.allowed_values
      ? Object.fromEntries(f.allowed_values.filter((v) => v.expected_event_types).map((v) => [v.name, v.expected_event_types]))
      : null,
  };
}
console.log(JSON.stringify({ version: EcsVersion, fields }));
